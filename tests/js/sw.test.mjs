// The service-worker half (pushwise-sw.js) on Node's test runner: the classic script is run in a
// vm context, then its worker logic is driven with fake registration, clients, fetch and storage.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import vm from "node:vm";

const SOURCE = new URL("../../src/pushwise/web_sdk/pushwise-sw.js", import.meta.url);
const NOW = Date.parse("2026-12-07T10:00:00Z");
const SETTINGS = {
  baseUrl: "https://push.example",
  clientKey: "pk_client",
  userToken: "token-ann",
  userId: "ann",
  deviceId: "dev_old",
  vapidPublicKey: "BVAPID",
};

function loadSdk() {
  const context = { URL, Date, JSON, Promise, Object, Array, Math, Number, String, isFinite };
  context.self = context;
  vm.createContext(context);
  vm.runInContext(readFileSync(SOURCE, "utf8"), context, { filename: "pushwise-sw.js" });
  return context.pushwise;
}

const sdk = loadSdk();

function memoryStorage(initial = {}) {
  const values = new Map(Object.entries(structuredClone(initial)));
  return {
    values,
    get: async (key) => structuredClone(values.get(key)),
    set: async (key, value) => void values.set(key, structuredClone(value)),
  };
}

function jsonResponse(status, body) {
  return { ok: status >= 200 && status < 300, status, json: async () => body };
}

/** A worker with fakes; `answers` is the list of statuses fetch gives in turn (default 200). */
function harness({ settings = SETTINGS, answers = [], outbox } = {}) {
  const calls = { fetch: [], shown: [], opened: [], messages: [], badges: [] };
  const storage = memoryStorage({ settings, ...(outbox ? { outbox } : {}) });
  const page = { url: "https://shop.example/", postMessage: (m) => calls.messages.push(m) };
  const worker = sdk.createWorker({
    registration: {
      scope: "https://shop.example/",
      showNotification: async (title, options) => void calls.shown.push({ title, options }),
      pushManager: {
        subscribe: async (options) => {
          calls.subscribed = options;
          return { toJSON: () => ({ endpoint: "https://fcm.example/new", keys: { p256dh: "P", auth: "A" } }) };
        },
      },
    },
    clients: {
      matchAll: async () => [page],
      openWindow: async (url) => void calls.opened.push(url),
    },
    fetch: async (url, init) => {
      calls.fetch.push({ url, method: init.method, headers: init.headers, body: init.body && JSON.parse(init.body) });
      const status = answers.length ? answers.shift() : 200;
      if (status === "offline") throw new TypeError("Failed to fetch");
      return jsonResponse(status, init.method === "POST" && url.endsWith("/v1/devices") ? { id: "dev_new" } : {});
    },
    storage,
    now: () => NOW,
    setAppBadge: async (count) => void calls.badges.push(count),
  });
  return { worker, calls, storage };
}

// What src/pushwise/domain/webpush_message.py renders for a notification with every content field,
// a collapse key and webpush options (icon, actions).
const PAYLOAD = {
  title: "Your boots shipped",
  body: "Arriving Tuesday",
  url: "https://push.example/r/abc.def",
  image: "https://cdn.example/boots.jpg",
  badge: 3,
  data: { order: "A-17", pushwise_notification_id: "ntf_1", pushwise_delivery_id: 42 },
  tag: "order-A-17",
  icon: "https://cdn.example/icon.png",
  actions: [
    { action: "track", title: "Track", url: "https://shop.example/track/A-17" },
    { action: "later", title: "Later" },
  ],
  requireInteraction: true,
};

const pushData = (payload) => ({ json: () => payload, text: () => JSON.stringify(payload) });

test("a push shows pushwise's title, body, icon, image, tag and actions, and reports delivered", async () => {
  const { worker, calls } = harness();
  await worker.onPush(pushData(PAYLOAD));
  assert.equal(calls.shown.length, 1);
  const { title, options } = calls.shown[0];
  assert.equal(title, "Your boots shipped");
  assert.equal(options.body, "Arriving Tuesday");
  assert.equal(options.icon, "https://cdn.example/icon.png");
  assert.equal(options.image, "https://cdn.example/boots.jpg");
  assert.equal(options.tag, "order-A-17");
  assert.equal(options.requireInteraction, true);
  assert.equal(options.badge, undefined, "a numeric badge is the app-icon count, not an image");
  assert.deepEqual(calls.badges, [3]);
  assert.deepEqual(JSON.parse(JSON.stringify(options.actions)), [
    { action: "track", title: "Track" },
    { action: "later", title: "Later" },
  ]);
  assert.equal(options.data.pushwise.deliveryId, 42);
  assert.equal(options.data.data.order, "A-17");
  assert.equal(calls.messages[0].type, "pushwise:shown");

  const [post] = calls.fetch;
  assert.equal(post.url, "https://push.example/v1/events");
  assert.equal(post.headers.authorization, "Bearer pk_client");
  assert.equal(post.headers["x-pushwise-user-token"], "token-ann");
  assert.deepEqual(post.body, {
    events: [
      {
        user_id: "ann",
        id: "web:delivered:42",
        type: "delivered",
        at: "2026-12-07T10:00:00.000Z",
        delivery_id: 42,
        notification_id: "ntf_1",
      },
    ],
  });
});

test("tapping the notification reports opened and follows its link; pushwise's redirect counts the click", async () => {
  const { worker, calls } = harness();
  await worker.onPush(pushData(PAYLOAD));
  const notification = { data: calls.shown[0].options.data, close() { this.closed = true; } };
  await worker.onClick(notification, "");
  assert.ok(notification.closed);
  assert.deepEqual(calls.opened, ["https://push.example/r/abc.def"]);
  const types = calls.fetch[1].body.events.map((e) => e.type);
  assert.deepEqual(types, ["opened"], "the /r/ link records clicked on the server, so no second click");
});

test("a link that is not pushwise's redirect is reported clicked by the SDK", async () => {
  const { worker, calls } = harness();
  await worker.onPush(pushData({ ...PAYLOAD, url: "https://shop.example/orders/A-17" }));
  await worker.onClick({ data: calls.shown[0].options.data }, "");
  const events = calls.fetch[1].body.events;
  assert.deepEqual(events.map((e) => [e.type, e.id]), [
    ["opened", "web:opened:42"],
    ["clicked", "web:clicked:42:link"],
  ]);
  assert.deepEqual(events[1].properties, { url: "https://shop.example/orders/A-17", via: "sdk" });
});

test("an action button reports clicked with the action and opens the action's own url", async () => {
  const { worker, calls } = harness();
  await worker.onPush(pushData(PAYLOAD));
  await worker.onClick({ data: calls.shown[0].options.data }, "track");
  assert.deepEqual(calls.opened, ["https://shop.example/track/A-17"]);
  const [clicked] = calls.fetch[1].body.events;
  assert.equal(clicked.type, "clicked");
  assert.equal(clicked.id, "web:clicked:42:track");
  assert.deepEqual(clicked.properties, { action: "track", via: "sdk" });
});

test("closing the notification reports dismissed", async () => {
  const { worker, calls } = harness();
  await worker.onPush(pushData(PAYLOAD));
  await worker.onClose({ data: calls.shown[0].options.data });
  assert.deepEqual(calls.fetch[1].body.events.map((e) => e.type), ["dismissed"]);
});

test("a push without pushwise's ids (not sent by pushwise) is shown and reports nothing", async () => {
  const { worker, calls } = harness();
  await worker.onPush(pushData({ title: "Hello" }));
  await worker.onClick({ data: calls.shown[0].options.data }, "");
  assert.equal(calls.shown[0].title, "Hello");
  assert.equal(calls.fetch.length, 0);
});

test("events wait in the outbox while the token is expired and go with the next configuration", async () => {
  const { worker, calls, storage } = harness({ answers: [401] });
  await worker.onPush(pushData(PAYLOAD));
  assert.equal(storage.values.get("outbox").length, 1);
  await worker.onMessage({ type: "pushwise:configure", settings: { userToken: "token-ann-2" } });
  const retry = calls.fetch[1];
  assert.equal(retry.headers["x-pushwise-user-token"], "token-ann-2");
  assert.deepEqual(retry.body.events.map((e) => e.id), ["web:delivered:42"]);
  assert.deepEqual(storage.values.get("outbox"), []);
});

test("offline events are kept; a refused batch (422) is dropped, not retried forever", async () => {
  const { worker, calls, storage } = harness({ answers: ["offline", 422] });
  await worker.onPush(pushData(PAYLOAD));
  assert.equal(storage.values.get("outbox").length, 1);
  await worker.onClose({ data: calls.shown[0].options.data });
  assert.deepEqual(calls.fetch[1].body.events.map((e) => e.type), ["delivered", "dismissed"]);
  assert.deepEqual(storage.values.get("outbox"), []);
});

test("another user's waiting events are not posted with this user's token", async () => {
  const waiting = [{ user_id: "bob", id: "web:opened:7", type: "opened", delivery_id: 7 }];
  const { worker, calls } = harness({ outbox: waiting });
  await worker.onPush(pushData(PAYLOAD));
  assert.deepEqual(calls.fetch[0].body.events.map((e) => e.user_id), ["ann"]);
});

test("pushsubscriptionchange registers the new subscription and removes the old device", async () => {
  const { worker, calls, storage } = harness();
  const fresh = { toJSON: () => ({ endpoint: "https://fcm.example/2", keys: { p256dh: "P2", auth: "A2" } }) };
  const device = await worker.onSubscriptionChange(null, fresh);
  assert.equal(device.id, "dev_new");
  assert.equal(calls.fetch[0].url, "https://push.example/v1/devices");
  assert.deepEqual(calls.fetch[0].body, {
    platform: "web",
    subscription: { endpoint: "https://fcm.example/2", keys: { p256dh: "P2", auth: "A2" } },
    push_permission: "granted",
    user_id: "ann",
  });
  assert.equal(calls.fetch[1].method, "DELETE");
  assert.equal(calls.fetch[1].url, "https://push.example/v1/devices/dev_old");
  assert.equal(storage.values.get("settings").deviceId, "dev_new");
  assert.equal(calls.messages.at(-1).type, "pushwise:device");
});

test("pushsubscriptionchange without a new subscription subscribes again with the app's key", async () => {
  const { worker, calls } = harness();
  await worker.onSubscriptionChange(null, null);
  assert.deepEqual({ ...calls.subscribed }, { userVisibleOnly: true, applicationServerKey: "BVAPID" });
  assert.equal(calls.fetch[0].body.subscription.endpoint, "https://fcm.example/new");
});

test("a worker never configured shows pushes and posts nothing", async () => {
  const { worker, calls } = harness({ settings: null });
  await worker.onPush(pushData(PAYLOAD));
  assert.equal(calls.shown.length, 1);
  assert.equal(calls.fetch.length, 0);
  assert.equal(await worker.onSubscriptionChange(null, null), null);
});

test("the click redirect is recognised by the pushwise origin and the /r/ path only", () => {
  assert.ok(sdk.isClickRedirect("https://push.example/r/x.y", "https://push.example"));
  assert.ok(!sdk.isClickRedirect("https://shop.example/r/x.y", "https://push.example"));
  assert.ok(!sdk.isClickRedirect("https://push.example/orders", "https://push.example"));
  assert.ok(!sdk.isClickRedirect("not a url", "https://push.example"));
});
