// The sign-in page: focus the first empty field; one submit at a time.
const form = document.getElementById('login-form');
const user = document.getElementById('username');
const pass = document.getElementById('password');
(user.value ? pass : user).focus();
form.addEventListener('submit', (e) => {
  if (!user.value.trim() || !pass.value) {
    e.preventDefault();
    (user.value.trim() ? pass : user).focus();
    return;
  }
  const btn = document.getElementById('login-submit');
  btn.disabled = true;
  btn.textContent = 'Signing in…';
});
