// The page half (pushwise.js) on Node's test runner, with a fake browser (navigator.serviceWorker,
// PushManager, Notification, MessageChannel) and a fake fetch that answers like the API.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  Pushwise,
  PushwiseError,
  SseParser,
  base64UrlToBytes,
  decodeUserToken,
  subscriptionKey,
} from "../../src/pushwise/web_sdk/pushwise.js";

const VAPID = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";

function userToken(sub, exp = 4102444800) {
  const claims = Buffer.from(JSON.stringify({ app: "app_1", sub, exp })).toString("base64url");
  return `${claims}.c2lnbmF0dXJl`;
}

function json(status, body) {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** A fake fetch: `routes` maps "METHOD /path" to a function (call) => Response. */
function fakeFetch(routes) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    const path = new URL(url).pathname + new URL(url).search;
    const call = { path, method: init.method || "GET", headers: init.headers, body: init.body && JSON.parse(init.body) };
    calls.push(call);
    const route = routes[`${call.method} ${new URL(url).pathname}`];
    if (!route) return json(404, { error: { code: "not_found" } });
    return route(call, init);
  };
  return { fetch, calls };
}

function fakeBrowser({ permission = "default", answer = "granted", existing = null } = {}) {
  const worker = { messages: [] };
  worker.postMessage = (message, [port]) => {
    worker.messages.push(message);
    port.postMessage({ ok: true, result: null });
  };
  const pushManager = {
    current: existing,
    async getSubscription() {
      return this.current;
    },
    async subscribe(options) {
      pushManager.options = options;
      this.current = {
        options: { applicationServerKey: options.applicationServerKey.buffer },
        toJSON: () => ({ endpoint: "https://fcm.example/send/1", keys: { p256dh: "BP", auth: "AU" } }),
        unsubscribe: async () => true,
      };
      return this.current;
    },
  };
  const registration = { active: worker, pushManager };
  const Notification = {
    permission,
    async requestPermission() {
      Notification.permission = answer;
      return answer;
    },
  };
  const navigator = {
    language: "fr-FR",
    serviceWorker: {
      registered: [],
      listeners: [],
      addEventListener(type, listener) {
        this.listeners.push({ type, listener });
      },
      async register(url, options) {
        this.registered.push({ url, options });
        return registration;
      },
      ready: Promise.resolve(registration),
    },
  };
  const stored = new Map();
  const localStorage = {
    getItem: (key) => (stored.has(key) ? stored.get(key) : null),
    setItem: (key, value) => stored.set(key, String(value)),
    removeItem: (key) => stored.delete(key),
  };
  const window = { navigator, PushManager: class {}, Notification, MessageChannel, localStorage };
  return { window, worker, pushManager, stored };
}

const DEVICE_ROUTES = {
  "GET /v1/webpush/vapid-public-key": () => json(200, { vapid_public_key: VAPID }),
  "POST /v1/devices": (call) => json(201, { id: "dev_1", platform: "web", active: true, user_id: call.body.user_id }),
  "PATCH /v1/devices/dev_1": (call) => json(200, { id: "dev_1", push_permission: call.body.push_permission }),
  "DELETE /v1/devices/dev_1": () => json(204),
};

test("the permission is asked only when the app calls requestPermission, then the browser subscribes", async () => {
  const browser = fakeBrowser();
  const { fetch, calls } = fakeFetch(DEVICE_ROUTES);
  const pw = new Pushwise({
    baseUrl: "https://push.example/",
    clientKey: "pk_1",
    userToken: userToken("ann"),
    window: browser.window,
    fetch,
  });
  assert.equal(pw.permission, "default");
  assert.equal(calls.length, 0, "constructing asks nothing");
  assert.equal(await pw.requestPermission(), "granted");

  assert.deepEqual(browser.window.navigator.serviceWorker.registered, [{ url: "/sw.js", options: undefined }]);
  assert.equal(browser.pushManager.options.userVisibleOnly, true);
  assert.deepEqual(browser.pushManager.options.applicationServerKey, base64UrlToBytes(VAPID));
  const register = calls.find((c) => c.path === "/v1/devices");
  assert.equal(register.headers.authorization, "Bearer pk_1");
  assert.equal(register.headers["x-pushwise-user-token"], userToken("ann"));
  assert.deepEqual(register.body.subscription, { endpoint: "https://fcm.example/send/1", keys: { p256dh: "BP", auth: "AU" } });
  assert.equal(register.body.user_id, "ann");
  assert.equal(register.body.platform, "web");
  assert.equal(register.body.locale, "fr-FR");
  assert.equal(register.body.push_permission, "granted");
  assert.equal(pw.device.id, "dev_1");

  const [configure] = browser.worker.messages;
  assert.equal(configure.type, "pushwise:configure");
  assert.deepEqual(
    { ...configure.settings, defaultTitle: undefined },
    {
      baseUrl: "https://push.example",
      clientKey: "pk_1",
      userToken: userToken("ann"),
      userId: "ann",
      deviceId: "dev_1",
      vapidPublicKey: VAPID,
      defaultTitle: undefined,
    },
  );
});

test("a refused permission subscribes nothing; a later denial is reported on the device", async () => {
  const browser = fakeBrowser({ answer: "denied" });
  const { fetch, calls } = fakeFetch(DEVICE_ROUTES);
  const pw = new Pushwise({ baseUrl: "https://push.example", clientKey: "pk_1", window: browser.window, fetch });
  assert.equal(await pw.requestPermission(), "denied");
  assert.equal(calls.length, 0);
  await assert.rejects(pw.subscribe(), (e) => e instanceof PushwiseError && e.code === "permission_required");

  pw.device = { id: "dev_1" };
  assert.equal(await pw.requestPermission(), "denied");
  assert.deepEqual(calls.at(-1), {
    path: "/v1/devices/dev_1",
    method: "PATCH",
    headers: calls.at(-1).headers,
    body: { push_permission: "denied" },
  });
});

test("a subscription made with an old VAPID key is replaced; one made with the app's key is reused", async () => {
  let unsubscribed = 0;
  const old = {
    options: { applicationServerKey: new Uint8Array([4, 1, 2, 3]).buffer },
    toJSON: () => ({}),
    unsubscribe: async () => ++unsubscribed,
  };
  const browser = fakeBrowser({ permission: "granted", existing: old });
  const { fetch } = fakeFetch(DEVICE_ROUTES);
  const pw = new Pushwise({ baseUrl: "https://push.example", clientKey: "pk_1", window: browser.window, fetch });
  await pw.subscribe();
  assert.equal(unsubscribed, 1);
  assert.equal(subscriptionKey(browser.pushManager.current), VAPID);

  const again = new Pushwise({ baseUrl: "https://push.example", clientKey: "pk_1", window: browser.window, fetch });
  const before = browser.pushManager.current;
  await again.subscribe();
  assert.equal(browser.pushManager.current, before, "the same subscription, not a new one");
});

test("an expired user token is renewed once through getUserToken, and the worker gets the new one", async () => {
  const browser = fakeBrowser({ permission: "granted" });
  let tokens = 0;
  const { fetch, calls } = fakeFetch({
    ...DEVICE_ROUTES,
    "POST /v1/devices": (call) =>
      call.headers["x-pushwise-user-token"] === userToken("ann", 1)
        ? json(401, { error: { code: "user_token_expired", message: "expired" } })
        : json(201, { id: "dev_1" }),
  });
  const pw = new Pushwise({
    baseUrl: "https://push.example",
    clientKey: "pk_1",
    userToken: userToken("ann", 1),
    getUserToken: async () => (++tokens, userToken("ann")),
    window: browser.window,
    fetch,
  });
  await pw.subscribe();
  assert.equal(tokens, 1);
  assert.equal(calls.filter((c) => c.path === "/v1/devices").length, 2);
  assert.equal(browser.worker.messages.at(-1).settings.userToken, userToken("ann"));
});

test("an API refusal surfaces as PushwiseError with the machine-readable code", async () => {
  const browser = fakeBrowser({ permission: "granted" });
  const { fetch } = fakeFetch({
    ...DEVICE_ROUTES,
    "POST /v1/devices": () => json(403, { error: { code: "forbidden_user_token", message: "another user" } }),
  });
  const pw = new Pushwise({ baseUrl: "https://p.example", clientKey: "k", vapidPublicKey: VAPID, window: browser.window, fetch });
  await assert.rejects(pw.subscribe(), (e) => e.status === 403 && e.code === "forbidden_user_token");
});

test("unsubscribe removes the device, drops the subscription and clears the worker", async () => {
  const browser = fakeBrowser({ permission: "granted" });
  const { fetch, calls } = fakeFetch(DEVICE_ROUTES);
  const pw = new Pushwise({ baseUrl: "https://push.example", clientKey: "pk_1", window: browser.window, fetch });
  await pw.subscribe();
  await pw.unsubscribe();
  assert.equal(calls.at(-1).method, "DELETE");
  assert.equal(pw.device, null);
  assert.equal(browser.worker.messages.at(-1).type, "pushwise:forget");
});

test("a browser without Web Push is told apart", async () => {
  const pw = new Pushwise({ baseUrl: "https://p.example", clientKey: "k", window: { navigator: {} } });
  assert.equal(pw.isSupported(), false);
  assert.equal(pw.permission, "denied");
  assert.equal(await pw.requestPermission(), "denied");
});

test("user token claims are read without the secret", () => {
  assert.deepEqual(decodeUserToken(userToken("zoë")), { app: "app_1", sub: "zoë", exp: 4102444800 });
});

test("the SSE parser handles split chunks, CRLF, comments, multi-line data and ids", () => {
  const parser = new SseParser();
  const text = ": keepalive\r\n\r\nid: 41\nevent: item\ndata: {\"id\":\"41\",\ndata: \"title\":\"Hi\"}\n\nevent: unread_count\ndata: {\"unread_count\": 2}\n\n";
  const events = [];
  for (let i = 0; i < text.length; i += 5) events.push(...parser.push(text.slice(i, i + 5)));
  assert.deepEqual(events, [
    { event: "item", data: '{"id":"41",\n"title":"Hi"}', id: "41" },
    { event: "unread_count", data: '{"unread_count": 2}', id: "41" },
  ]);
});

/** A response whose body is an SSE stream we write to. */
function sseResponse() {
  let controller;
  const body = new ReadableStream({ start: (c) => (controller = c) });
  const encoder = new TextEncoder();
  return {
    response: new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } }),
    send: (text) => controller.enqueue(encoder.encode(text)),
    end: () => controller.close(),
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

test("the inbox lists, follows the stream, counts unread and marks read", async () => {
  const streams = [];
  const item = (id, read = false) => ({ id, notification_id: "ntf", title: `T${id}`, body: "b", data: {}, url: null, read, created_at: "2026-12-07T10:00:00Z" });
  const { fetch, calls } = fakeFetch({
    "GET /v1/inbox": () => json(200, { items: [item("5"), item("3", true)], next_cursor: null, unread_count: 1 }),
    "GET /v1/inbox/stream": () => {
      const stream = sseResponse();
      streams.push(stream);
      return stream.response;
    },
    "POST /v1/inbox/5/read": () => json(200, item("5", true)),
  });
  const timers = [];
  const pw = new Pushwise({ baseUrl: "https://push.example", clientKey: "pk_1", userToken: userToken("ann"), fetch });
  const inbox = pw.inbox({ setTimeout: (f, ms) => timers.push({ f, ms }) });
  const seen = [];
  inbox.onChange((i) => seen.push(i.unreadCount));
  await inbox.start();
  assert.deepEqual(inbox.items.map((i) => i.id), ["5", "3"]);
  assert.equal(inbox.unreadCount, 1);
  await tick();
  const first = calls.find((c) => c.path === "/v1/inbox/stream");
  assert.equal(first.headers["last-event-id"], "5", "the stream starts after the newest listed item");
  assert.equal(first.headers.authorization, "Bearer pk_1");

  streams[0].send(`id: 7\nevent: item\ndata: ${JSON.stringify(item("7"))}\n\nevent: unread_count\ndata: {"unread_count": 2}\n\n`);
  await tick();
  assert.deepEqual(inbox.items.map((i) => i.id), ["7", "5", "3"]);
  assert.equal(inbox.unreadCount, 2);

  await inbox.markRead("5");
  assert.equal(inbox.unreadCount, 1);
  assert.equal(inbox.items.find((i) => i.id === "5").read, true);

  streams[0].end(); // a dropped connection: reconnect after the delay, from the last id seen
  await tick();
  await tick();
  assert.equal(timers.length, 1);
  assert.equal(timers[0].ms, 1000);
  timers[0].f();
  await tick();
  const second = calls.filter((c) => c.path === "/v1/inbox/stream")[1];
  assert.equal(second.headers["last-event-id"], "7");
  streams[1].send(`id: 7\nevent: item\ndata: ${JSON.stringify(item("7"))}\n\n`); // a repeat is not a new item
  await tick();
  assert.deepEqual(inbox.items.map((i) => i.id), ["7", "5", "3"]);
  inbox.stop();
  assert.deepEqual(seen, [1, 1, 2, 1, 1]);
});

test("an empty inbox asks the stream for every item (Last-Event-ID 0); refusals back off", async () => {
  const { fetch, calls } = fakeFetch({
    "GET /v1/inbox": () => json(200, { items: [], next_cursor: null, unread_count: 0 }),
    "GET /v1/inbox/stream": () => json(503, { error: { code: "unavailable" } }),
  });
  const timers = [];
  const pw = new Pushwise({ baseUrl: "https://push.example", clientKey: "pk_1", userToken: userToken("ann"), fetch });
  const inbox = await pw.inbox({ setTimeout: (f, ms) => timers.push({ f, ms }) }).start();
  await tick();
  assert.equal(calls[1].headers["last-event-id"], "0");
  timers[0].f();
  await tick();
  assert.deepEqual(timers.map((t) => t.ms), [1000, 2000]);
  inbox.stop();
});

test("the inbox of a user pushwise has not met yet is empty, not an error", async () => {
  const { fetch } = fakeFetch({
    "GET /v1/inbox": () => json(404, { error: { code: "not_found", message: "user not found" } }),
    "GET /v1/inbox/stream": () => json(404, { error: { code: "not_found" } }),
  });
  const pw = new Pushwise({ baseUrl: "https://push.example", clientKey: "pk_1", userToken: userToken("new"), fetch });
  const inbox = await pw.inbox({ setTimeout: () => {} }).start();
  assert.deepEqual(inbox.items, []);
  assert.equal(inbox.unreadCount, 0);
  inbox.stop();
});

test("sync on page load: re-registers when granted, reports a revoked permission, asks nothing", async () => {
  const browser = fakeBrowser({ permission: "default", answer: "granted" });
  const { fetch, calls } = fakeFetch(DEVICE_ROUTES);
  const options = { baseUrl: "https://push.example", clientKey: "pk_1", window: browser.window, fetch };
  assert.equal(await new Pushwise(options).sync(), null, "not asked yet: nothing happens");
  assert.equal(calls.length, 0);

  await new Pushwise(options).requestPermission();
  assert.equal(browser.stored.get("pushwise:device:https://push.example"), "dev_1");

  const nextVisit = new Pushwise(options);
  assert.equal((await nextVisit.sync()).id, "dev_1");
  assert.equal(calls.filter((c) => c.path === "/v1/devices").length, 2, "registered again, same device");

  browser.window.Notification.permission = "denied"; // taken back in the browser's settings
  const laterVisit = new Pushwise(options);
  await laterVisit.sync();
  assert.deepEqual(calls.at(-1).body, { push_permission: "denied" });
  assert.equal(calls.at(-1).path, "/v1/devices/dev_1");
});

test("a device the worker re-registered becomes the page's device", async () => {
  const browser = fakeBrowser({ permission: "granted" });
  const { fetch } = fakeFetch(DEVICE_ROUTES);
  const pw = new Pushwise({ baseUrl: "https://push.example", clientKey: "pk_1", window: browser.window, fetch });
  await pw.subscribe();
  const [{ listener }] = browser.window.navigator.serviceWorker.listeners;
  listener({ data: { type: "pushwise:device", device: { id: "dev_2" } } });
  assert.equal(pw.knownDeviceId, "dev_2");
  assert.equal(browser.stored.get("pushwise:device:https://push.example"), "dev_2");
});

test("a revoked permission on a device removed meanwhile is nothing to report", async () => {
  const browser = fakeBrowser({ permission: "denied" });
  browser.stored.set("pushwise:device:https://push.example", "dev_gone");
  const { fetch } = fakeFetch(DEVICE_ROUTES);
  const pw = new Pushwise({ baseUrl: "https://push.example", clientKey: "pk_1", window: browser.window, fetch });
  assert.equal(await pw.sync(), null);
  assert.equal(browser.stored.has("pushwise:device:https://push.example"), false);
});

test("a stream refused for its credentials stops and says why instead of retrying forever", async () => {
  const { fetch } = fakeFetch({
    "GET /v1/inbox": () => json(200, { items: [], next_cursor: null, unread_count: 0 }),
    "GET /v1/inbox/stream": () => json(401, { error: { code: "invalid_user_token", message: "not valid" } }),
  });
  const timers = [];
  const pw = new Pushwise({ baseUrl: "https://push.example", clientKey: "pk_1", userToken: userToken("ann"), fetch });
  const inbox = await pw.inbox({ setTimeout: (f, ms) => timers.push({ f, ms }) }).start();
  await tick();
  await tick();
  assert.equal(inbox.error.code, "invalid_user_token");
  assert.equal(timers.length, 0);
});

test("a first visit waits for the worker to install before configuring it", async () => {
  const browser = fakeBrowser({ permission: "granted" });
  const registration = await browser.window.navigator.serviceWorker.ready;
  const installing = {
    state: "installing",
    listeners: [],
    addEventListener(type, listener) {
      this.listeners.push(listener);
    },
  };
  const active = registration.active;
  registration.active = null;
  registration.installing = installing;
  const { fetch } = fakeFetch(DEVICE_ROUTES);
  const pw = new Pushwise({ baseUrl: "https://push.example", clientKey: "pk_1", window: browser.window, fetch });
  const subscribing = pw.subscribe();
  await tick();
  assert.equal(browser.worker.messages.length, 0);
  registration.active = active;
  installing.state = "activated";
  installing.listeners.forEach((listener) => listener());
  await subscribing;
  assert.equal(browser.worker.messages[0].type, "pushwise:configure");
});
