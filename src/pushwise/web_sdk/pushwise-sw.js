/* Pushwise Web SDK, service-worker half (a classic script: load it with importScripts).
 *
 * In your own service worker:   importScripts("https://PUSHWISE/sdk/pushwise-sw.js");
 *
 * It shows the notifications pushwise sends (the JSON of src/pushwise/domain/webpush_message.py),
 * reports `delivered`, `opened`, `clicked` and `dismissed` to POST /v1/events, and registers the
 * new subscription when the browser replaces one (`pushsubscriptionchange`).
 *
 * Why a service worker keeps its own settings: it is started by the browser for a push with no page
 * open, so it cannot ask the page for the client key or the user's token. The page (pushwise.js)
 * sends them in a `pushwise:configure` message; the worker keeps them in IndexedDB. Events that
 * could not be posted (offline, the user token expired) wait in an outbox there and go with the
 * next event or the next configuration.
 *
 * Why classic and not a module: `importScripts` works in every browser's service worker, and a
 * classic worker can load it from another origin; a module worker can do neither everywhere.
 *
 * `self.pushwise` exposes the handlers, for apps that dispatch events themselves (set
 * `self.PUSHWISE_MANUAL = true` before importScripts to skip the listeners), and `createWorker`,
 * which the unit tests drive with fakes.
 */
(function (scope) {
  "use strict";

  var OUTBOX_LIMIT = 500;
  var MESSAGE = "pushwise:";
  // Notification options the page's JSON may carry and showNotification understands.
  var OPTIONS = [
    "body", "icon", "image", "tag", "requireInteraction", "silent", "renotify",
    "vibrate", "dir", "lang", "timestamp",
  ];

  /** What pushwise's Web Push JSON becomes: the title and the showNotification options. */
  function notificationFor(payload, fallbackTitle) {
    var options = {};
    OPTIONS.forEach(function (name) {
      if (payload[name] !== undefined && payload[name] !== null) options[name] = payload[name];
    });
    // `content.badge` is the app-icon count (a number); a string is the Notification badge image.
    if (typeof payload.badge === "string") options.badge = payload.badge;
    var data = payload.data && typeof payload.data === "object" ? payload.data : {};
    var actionUrls = {};
    if (Array.isArray(payload.actions)) {
      options.actions = payload.actions.map(function (action) {
        if (action && action.url) actionUrls[action.action] = action.url;
        var shown = { action: action.action, title: action.title };
        if (action.icon) shown.icon = action.icon;
        return shown;
      });
    }
    options.data = {
      pushwise: {
        url: payload.url || null,
        actionUrls: actionUrls,
        deliveryId: numberOrNull(data.pushwise_delivery_id),
        notificationId: data.pushwise_notification_id || null,
      },
      data: data,
    };
    return { title: payload.title || fallbackTitle || "", options: options };
  }

  function numberOrNull(value) {
    var number = typeof value === "string" ? Number(value) : value;
    return typeof number === "number" && isFinite(number) && number > 0 ? number : null;
  }

  function readPayload(pushData) {
    if (!pushData) return {};
    try {
      var parsed = pushData.json();
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch (error) {
      return { body: pushData.text() }; // a push that is not JSON still shows something
    }
  }

  /** The click redirect (`/r/<token>` on the pushwise origin) records `clicked` itself. */
  function isClickRedirect(url, baseUrl) {
    if (!url || !baseUrl) return false;
    try {
      var target = new URL(url);
      var base = new URL(baseUrl);
      return target.origin === base.origin && target.pathname.indexOf("/r/") === 0;
    } catch (error) {
      return false;
    }
  }

  /** A key-value store in IndexedDB: the worker's settings and its outbox. */
  function idbStorage(indexedDB) {
    var opening = null;
    function open() {
      if (!opening) {
        opening = new Promise(function (resolve, reject) {
          var request = indexedDB.open("pushwise", 1);
          request.onupgradeneeded = function () { request.result.createObjectStore("kv"); };
          request.onsuccess = function () { resolve(request.result); };
          request.onerror = function () { opening = null; reject(request.error); };
        });
      }
      return opening;
    }
    function run(mode, work) {
      return open().then(function (db) {
        return new Promise(function (resolve, reject) {
          var tx = db.transaction("kv", mode);
          var request = work(tx.objectStore("kv"));
          tx.oncomplete = function () { resolve(request.result); };
          tx.onerror = function () { reject(tx.error); };
        });
      });
    }
    return {
      get: function (key) { return run("readonly", function (s) { return s.get(key); }); },
      set: function (key, value) { return run("readwrite", function (s) { return s.put(value, key); }); },
    };
  }

  /**
   * The worker's logic over what it is given: `registration` (showNotification, pushManager,
   * scope), `clients`, `fetch`, `storage` ({get, set}), `now()` (ms) and `setAppBadge`.
   */
  function createWorker(env) {
    var settingsCache = null;

    function settings() {
      if (settingsCache) return Promise.resolve(settingsCache);
      return env.storage.get("settings").then(function (value) {
        settingsCache = value || {};
        return settingsCache;
      });
    }

    function saveSettings(value) {
      settingsCache = value;
      return env.storage.set("settings", value);
    }

    function api(config, method, path, body) {
      var headers = { authorization: "Bearer " + config.clientKey, "content-type": "application/json" };
      if (config.userToken) headers["x-pushwise-user-token"] = config.userToken;
      return env.fetch(config.baseUrl.replace(/\/$/, "") + path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    }

    function event(type, details, extra) {
      var ids = details || {};
      var key = ["web", type, ids.deliveryId].concat(extra && extra.key ? [extra.key] : []).join(":");
      var posted = {
        id: key,
        type: type,
        at: new Date(env.now()).toISOString(),
        delivery_id: ids.deliveryId,
      };
      if (ids.notificationId) posted.notification_id = ids.notificationId;
      if (extra && extra.properties) posted.properties = extra.properties;
      return posted;
    }

    var reporting = Promise.resolve();

    /** Post `events` with whatever waits in the outbox; keep what may go later. One at a time,
     * so two handlers never read the same outbox and write back over each other. */
    function report(events) {
      var run = reporting.then(function () { return postWithOutbox(events); });
      reporting = run.catch(function () {});
      return run;
    }

    function postWithOutbox(events) {
      return settings().then(function (config) {
        if (!config.baseUrl || !config.clientKey || !config.userId) return { posted: 0, kept: events.length };
        return env.storage.get("outbox").then(function (waiting) {
          var batch = (waiting || []).concat(events.map(function (e) {
            return Object.assign({ user_id: config.userId }, e);
          }));
          // a token is for one user: what another user left waiting is not theirs to post
          batch = batch.filter(function (e) { return e.user_id === config.userId; });
          if (batch.length === 0) return { posted: 0, kept: 0 };
          return api(config, "POST", "/v1/events", { events: batch.slice(0, 1000) }).then(
            function (response) {
              var retry = response.status === 401 || response.status === 408 ||
                response.status === 429 || response.status >= 500;
              var rest = batch.slice(1000);
              var keep = retry ? batch : rest; // other refusals will not improve by waiting
              return env.storage.set("outbox", keep.slice(-OUTBOX_LIMIT)).then(function () {
                return { posted: response.ok ? Math.min(batch.length, 1000) : 0, kept: keep.length,
                         status: response.status };
              });
            },
            function () {
              return env.storage.set("outbox", batch.slice(-OUTBOX_LIMIT)).then(function () {
                return { posted: 0, kept: batch.length };
              });
            }
          );
        });
      });
    }

    function tellPages(message) {
      return env.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (pages) {
        pages.forEach(function (page) { page.postMessage(message); });
      });
    }

    function onPush(pushData) {
      var payload = readPayload(pushData);
      var shown, ids;
      return settings().then(function (config) {
        shown = notificationFor(payload, config.defaultTitle);
        ids = shown.options.data.pushwise;
        var badge = typeof payload.badge === "number" && env.setAppBadge
          ? Promise.resolve(env.setAppBadge(payload.badge)).catch(function () {})
          : Promise.resolve();
        return Promise.all([env.registration.showNotification(shown.title, shown.options), badge]);
      })
        .then(function () {
          return tellPages({ type: MESSAGE + "shown", title: shown.title, options: shown.options });
        })
        .then(function () {
          return ids.deliveryId ? report([event("delivered", ids)]) : report([]);
        });
    }

    function openOrFocus(url) {
      var target = url || env.registration.scope;
      return env.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (pages) {
        for (var i = 0; i < pages.length; i++) {
          if (pages[i].url === target && pages[i].focus) return pages[i].focus();
        }
        return env.clients.openWindow ? env.clients.openWindow(target) : null;
      });
    }

    /** A tap on the notification is `opened`; a tap on one of its buttons is `clicked`. */
    function onClick(notification, action) {
      var meta = (notification.data && notification.data.pushwise) || {};
      var url = (action && meta.actionUrls && meta.actionUrls[action]) || meta.url;
      if (notification.close) notification.close();
      return settings().then(function (config) {
        var events = [];
        if (meta.deliveryId && action) {
          events.push(event("clicked", meta, { key: action, properties: { action: action, via: "sdk" } }));
        } else if (meta.deliveryId) {
          events.push(event("opened", meta));
          if (url && !isClickRedirect(url, config.baseUrl)) {
            events.push(event("clicked", meta, { key: "link", properties: { url: url, via: "sdk" } }));
          }
        }
        // a window that cannot open (the browser refuses it) must not lose the events
        var opening = openOrFocus(url).catch(function () { return null; });
        return Promise.all([opening, report(events)]);
      });
    }

    function onClose(notification) {
      var meta = (notification.data && notification.data.pushwise) || {};
      return meta.deliveryId ? report([event("dismissed", meta)]) : Promise.resolve();
    }

    /** The browser replaced (or dropped) the subscription: register its successor, retire the old. */
    function onSubscriptionChange(oldSubscription, newSubscription) {
      return settings().then(function (config) {
        if (!config.baseUrl || !config.clientKey) return null;
        var fresh = newSubscription
          ? Promise.resolve(newSubscription)
          : env.registration.pushManager.subscribe({
              userVisibleOnly: true,
              applicationServerKey:
                (oldSubscription && oldSubscription.options && oldSubscription.options.applicationServerKey) ||
                config.vapidPublicKey,
            });
        return fresh.then(function (subscription) {
          var body = { platform: "web", subscription: subscription.toJSON(), push_permission: "granted" };
          if (config.userId) body.user_id = config.userId;
          return api(config, "POST", "/v1/devices", body).then(function (response) {
            if (!response.ok) return null;
            return response.json().then(function (device) {
              var retired = config.deviceId && config.deviceId !== device.id
                ? api(config, "DELETE", "/v1/devices/" + encodeURIComponent(config.deviceId))
                    .catch(function () {})
                : Promise.resolve();
              return retired.then(function () {
                return saveSettings(Object.assign({}, config, { deviceId: device.id }));
              }).then(function () {
                return tellPages({ type: MESSAGE + "device", device: device });
              }).then(function () { return device; });
            });
          });
        });
      });
    }

    /** `pushwise:configure` from the page: new settings (a fresh user token), then the outbox. */
    function onMessage(data) {
      if (!data || typeof data.type !== "string") return Promise.resolve(null);
      if (data.type === MESSAGE + "configure") {
        return settings()
          .then(function (config) { return saveSettings(Object.assign({}, config, data.settings)); })
          .then(function () { return report([]); });
      }
      if (data.type === MESSAGE + "forget") {
        return saveSettings({}).then(function () { return env.storage.set("outbox", []); })
          .then(function () { return { forgotten: true }; });
      }
      return Promise.resolve(null);
    }

    return {
      onPush: onPush,
      onClick: onClick,
      onClose: onClose,
      onSubscriptionChange: onSubscriptionChange,
      onMessage: onMessage,
      report: report,
    };
  }

  scope.pushwise = {
    createWorker: createWorker,
    notificationFor: notificationFor,
    isClickRedirect: isClickRedirect,
    idbStorage: idbStorage,
  };

  if (!scope.registration || scope.PUSHWISE_MANUAL) return; // not a service worker, or the app wires it

  var worker = createWorker({
    registration: scope.registration,
    clients: scope.clients,
    fetch: function (url, init) { return scope.fetch(url, init); },
    storage: idbStorage(scope.indexedDB),
    now: function () { return Date.now(); },
    setAppBadge: scope.navigator && scope.navigator.setAppBadge
      ? function (count) { return scope.navigator.setAppBadge(count); }
      : null,
  });
  scope.pushwise.worker = worker;

  scope.addEventListener("push", function (e) { e.waitUntil(worker.onPush(e.data)); });
  scope.addEventListener("notificationclick", function (e) {
    e.waitUntil(worker.onClick(e.notification, e.action));
  });
  scope.addEventListener("notificationclose", function (e) { e.waitUntil(worker.onClose(e.notification)); });
  scope.addEventListener("pushsubscriptionchange", function (e) {
    e.waitUntil(worker.onSubscriptionChange(e.oldSubscription, e.newSubscription));
  });
  scope.addEventListener("message", function (e) {
    var reply = e.ports && e.ports[0];
    e.waitUntil(worker.onMessage(e.data).then(
      function (result) { if (reply) reply.postMessage({ ok: true, result: result }); },
      function (error) { if (reply) reply.postMessage({ ok: false, error: String(error) }); }
    ));
  });
})(self);
