// A plain third-party Open CTI adapter, written against Salesforce's
// Lightning Open CTI API only (no Dialtone-specific calls), served from an
// origin other than Dialtone's. The tests drive it through window.adapter.
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var role = params.get('role') || 'primary';
  var cti = window.sforce && window.sforce.opencti;
  var events = [];
  var logEl = document.getElementById('log');

  function log(kind, data) {
    events.push({ kind: kind, data: data });
    logEl.textContent += kind + ' ' + JSON.stringify(data) + '\n';
  }

  function call(method, args) {
    return new Promise(function (resolve) {
      var a = Object.assign({}, args || {});
      a.callback = function (response) { log(method, response); resolve(response); };
      try { cti[method](a); } catch (e) { resolve({ thrown: String(e && e.message || e) }); }
    });
  }

  window.adapter = { call: call, events: events, role: role, cti: cti };
  document.getElementById('title').textContent = role === 'standby' ? 'Acme CTI (standby)' : 'Acme CTI';

  if (!cti) {
    document.getElementById('status').textContent = 'opencti.js did not load';
    return;
  }
  cti.onClickToDial({ listener: function (payload) { log('onClickToDial', payload); } });
  cti.onNavigationChange({ listener: function (payload) { log('onNavigationChange', payload); } });
  if (params.get('noinit') !== '1') {
    cti.notifyInitializationComplete();
    document.getElementById('status').textContent = 'Ready (' + role + ')';
  } else {
    document.getElementById('status').textContent = 'Never initialises (testing failover)';
  }

  document.getElementById('enable-c2d').addEventListener('click', function () { call('enableClickToDial'); });
  document.getElementById('disable-c2d').addEventListener('click', function () { call('disableClickToDial'); });
  document.getElementById('lookup').addEventListener('click', function () {
    call('searchAndScreenPop', { searchParams: document.getElementById('number').value, callType: cti.CALL_TYPE.INBOUND });
  });
  document.getElementById('log-call').addEventListener('click', function () {
    call('saveLog', { value: { entityApiName: 'Task', Subject: 'Call logged by Acme CTI', Status: 'Completed', TaskSubtype: 'Call', CallType: 'Inbound' } });
  });
  document.getElementById('settings').addEventListener('click', function () { call('getCallCenterSettings'); });
})();
