/*
 * Dialtone's Lightning Open CTI API: window.sforce.opencti, with the method
 * names, argument objects and {success, returnValue, errors} callbacks of
 * Salesforce's Open CTI for Lightning Experience. The adapter page (an
 * iframe of the Dialtone console, of this origin or another) talks to the
 * console with postMessage; docs/DESKTOP.md §4 is the protocol. The script is
 * served as opencti.js and opencti_min.js (the same code).
 */
(function () {
  'use strict';

  var script = document.currentScript;
  // The console is served by the server this script came from.
  var HOST_ORIGIN = (function () {
    try { return new URL(script && script.src ? script.src : location.href).origin; } catch (e) { return location.origin; }
  })();
  var TIMEOUT_MS = 30000;
  var host = window.parent !== window ? window.parent : null;
  var nextId = 1;
  var pending = {};
  var listeners = { onClickToDial: null, onNavigationChange: null };

  function error(code, description) {
    return { success: false, returnValue: null, errors: [{ code: code, description: description, details: null }] };
  }

  function deliver(callback, response) {
    if (typeof callback !== 'function') return;
    try { callback(response); } catch (e) { setTimeout(function () { throw e; }); }
  }

  /** Arguments as data: functions dropped, a deep copy the console can receive. */
  function payload(args) {
    var copy = {};
    for (var k in args) {
      if (Object.prototype.hasOwnProperty.call(args, k) && k !== 'callback' && k !== 'listener' && typeof args[k] !== 'function') copy[k] = args[k];
    }
    return JSON.parse(JSON.stringify(copy));
  }

  function invoke(method, args) {
    if (args !== undefined && args !== null && (typeof args !== 'object' || Array.isArray(args))) {
      throw new TypeError('sforce.opencti.' + method + ' takes one object argument, e.g. {callback: function (response) {…}}');
    }
    args = args || {};
    var callback = args.callback;
    if (callback !== undefined && typeof callback !== 'function') {
      throw new TypeError('sforce.opencti.' + method + ': callback must be a function');
    }
    if (!host) {
      deliver(callback, error('NOT_IN_CONSOLE', 'This page is not running inside a Dialtone console (it has no parent window).'));
      return;
    }
    var data;
    try { data = payload(args); } catch (e) {
      deliver(callback, error('INVALID_ARGUMENTS', method + ': the arguments cannot be sent to the console (' + e.message + ')'));
      return;
    }
    var id = nextId++;
    var timer = setTimeout(function () {
      if (!pending[id]) return;
      delete pending[id];
      deliver(callback, error('TIMEOUT', method + ': the console did not answer within ' + TIMEOUT_MS / 1000 + ' s'));
    }, TIMEOUT_MS);
    pending[id] = { callback: callback, timer: timer };
    host.postMessage({ dtOpenCti: 1, id: id, method: method, args: data }, HOST_ORIGIN);
  }

  function listen(method, slot) {
    return function (args) {
      if (!args || typeof args.listener !== 'function') {
        throw new TypeError('sforce.opencti.' + method + ' needs {listener: function (payload) {…}}');
      }
      listeners[slot] = args.listener;
      invoke(method, { callback: args.callback });
    };
  }

  window.addEventListener('message', function (ev) {
    if (!host || ev.source !== host || ev.origin !== HOST_ORIGIN) return;
    var m = ev.data;
    if (!m || m.dtOpenCti !== 1) return;
    if (typeof m.id === 'number' && m.response) {
      var p = pending[m.id];
      if (!p) return;
      delete pending[m.id];
      clearTimeout(p.timer);
      deliver(p.callback, m.response);
    } else if (typeof m.event === 'string' && Object.prototype.hasOwnProperty.call(listeners, m.event)) {
      var l = listeners[m.event];
      if (typeof l === 'function') {
        try { l(m.payload); } catch (e) { setTimeout(function () { throw e; }); }
      }
    }
  });

  function method(name) { return function (args) { invoke(name, args); }; }

  var api = {
    CALL_TYPE: Object.freeze({ INBOUND: 'inbound', OUTBOUND: 'outbound', INTERNAL: 'internal' }),
    SCREENPOP_TYPE: Object.freeze({
      SOBJECT: 'sobject', URL: 'url', OBJECTHOME: 'objecthome', LIST: 'list',
      SEARCH: 'search', NEW_RECORD_MODAL: 'newRecord', FLOW: 'flow'
    }),
    onClickToDial: listen('onClickToDial', 'onClickToDial'),
    onNavigationChange: listen('onNavigationChange', 'onNavigationChange'),
    notifyInitializationComplete: function (args) { invoke('notifyInitializationComplete', args || {}); }
  };
  [
    'enableClickToDial', 'disableClickToDial', 'getAppViewInfo', 'getCallCenterSettings', 'getSoftphoneLayout',
    'isSoftphonePanelVisible', 'setSoftphonePanelVisibility', 'setSoftphonePanelHeight', 'setSoftphonePanelWidth',
    'setSoftphonePanelLabel', 'setSoftphonePanelIcon', 'setSoftphoneItemLabel', 'setSoftphoneItemIcon',
    'screenPop', 'searchAndScreenPop', 'saveLog', 'refreshView', 'runApex'
  ].forEach(function (n) { api[n] = method(n); });

  window.sforce = window.sforce || {};
  window.sforce.opencti = api;
})();
