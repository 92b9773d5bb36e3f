/* Pushwise Web SDK, page half (an ES module: `import { Pushwise } from ".../sdk/pushwise.js"`).
 *
 * Asks the notification permission when the app calls `requestPermission()` (browsers want a
 * user gesture: call it from a click), subscribes with the app's VAPID key, registers the
 * subscription with POST /v1/devices (client key + the user's token) and hands the service
 * worker (pushwise-sw.js) what it needs to report events on its own. `inbox()` reads the user's
 * in-app inbox and follows its Server-Sent Events stream.
 *
 * Why fetch and not EventSource for the stream: EventSource cannot send the Authorization and
 * X-Pushwise-User-Token headers the API wants, and putting a key in a URL leaks it into logs.
 */

const USER_TOKEN_HEADER = "x-pushwise-user-token";
const MESSAGE = "pushwise:";

/** An API error answer: `status`, and `code` from `{"error": {"code", "message"}}`. */
export class PushwiseError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.name = "PushwiseError";
    this.status = status;
    this.code = code;
  }
}

/** The claims of a user token (`<base64url JSON>.<signature>`): `{app, sub, exp}`. */
export function decodeUserToken(token) {
  const [claims] = String(token).split(".");
  return JSON.parse(new TextDecoder().decode(base64UrlToBytes(claims)));
}

/** Unpadded or padded base64url to bytes (VAPID keys, token claims). */
export function base64UrlToBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function bytesToBase64Url(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The key a subscription was made with, as base64url, or null when the browser does not say. */
export function subscriptionKey(subscription) {
  const key = subscription && subscription.options && subscription.options.applicationServerKey;
  return key ? bytesToBase64Url(key) : null;
}

/**
 * Incremental Server-Sent Events parser (the WHATWG event-stream format): feed it text as it
 * arrives, get `{event, data, id}` for each complete event. Comments (keepalives) are skipped.
 */
export class SseParser {
  constructor() {
    this.buffer = "";
    this.lastEventId = null;
    this.reset();
  }

  reset() {
    this.event = "";
    this.data = [];
    this.id = null;
  }

  push(text) {
    this.buffer += text;
    const events = [];
    let newline;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      if (this.buffer[newline] === "\r" && newline === this.buffer.length - 1) break; // \r\n split
      const line = this.buffer.slice(0, newline);
      const skip = this.buffer.startsWith("\r\n", newline) ? 2 : 1;
      this.buffer = this.buffer.slice(newline + skip);
      const parsed = this.line(line);
      if (parsed) events.push(parsed);
    }
    return events;
  }

  line(line) {
    if (line === "") {
      if (this.id !== null) this.lastEventId = this.id;
      const done = this.data.length
        ? { event: this.event || "message", data: this.data.join("\n"), id: this.lastEventId }
        : null;
      this.reset();
      return done;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.id = value;
    return null;
  }
}

/**
 * One app's SDK in the page.
 *
 * options: `baseUrl` (the pushwise server), `clientKey`, `userToken` (from your backend, which
 * got it with POST /v1/users/{id}/token) and optionally `getUserToken` (async, called for a new
 * token when the API says the old one expired), `vapidPublicKey` (default: asked of the API),
 * `serviceWorker` (the URL of your service worker, which importScripts pushwise-sw.js; default
 * "/sw.js"), `serviceWorkerScope`, `defaultTitle`.
 * `window` (default globalThis) is for tests.
 */
export class Pushwise {
  constructor(options) {
    if (!options || !options.baseUrl || !options.clientKey) {
      throw new TypeError("Pushwise needs baseUrl and clientKey");
    }
    this.options = { serviceWorker: "/sw.js", ...options };
    this.baseUrl = options.baseUrl.replace(/\/$/, "");
    this.window = options.window || globalThis;
    this.userToken = options.userToken || null;
    this.device = null;
    this.deviceKey = `pushwise:device:${this.baseUrl}`;
  }

  /** The device id this browser registered last (kept across visits in localStorage). */
  get knownDeviceId() {
    if (this.device) return this.device.id;
    return safely(() => this.window.localStorage.getItem(this.deviceKey));
  }

  remember(device) {
    this.device = device;
    safely(() =>
      device
        ? this.window.localStorage.setItem(this.deviceKey, device.id)
        : this.window.localStorage.removeItem(this.deviceKey),
    );
  }

  /**
   * Call on every page load: with the permission granted, registers the subscription again (the
   * same device, reactivated if it had been turned off, and a subscription the browser replaced
   * while no worker saw it); with the permission taken back in the browser's settings, tells
   * pushwise (`push_permission: "denied"`) so it stops sending. Asks the user nothing.
   */
  async sync() {
    if (!this.isSupported()) return null;
    if (this.permission === "granted") return this.subscribe();
    if (this.permission !== "denied" || !this.knownDeviceId) return null;
    try {
      return await this.reportPermission("denied");
    } catch (error) {
      if (error.status !== 404) throw error;
      this.remember(null); // removed meanwhile: nothing left to turn off
      return null;
    }
  }

  /** True where this browser can receive Web Push (service workers, PushManager, Notification). */
  isSupported() {
    const w = this.window;
    return Boolean(w.navigator && w.navigator.serviceWorker && w.PushManager && w.Notification);
  }

  /** "granted", "denied" or "default" (not asked yet). */
  get permission() {
    return this.isSupported() ? this.window.Notification.permission : "denied";
  }

  /** The external user id the current token speaks for. */
  get userId() {
    return this.userToken ? decodeUserToken(this.userToken).sub : null;
  }

  /** Set a fresh user token (e.g. after sign-in) and pass it to the service worker. */
  async setUserToken(token) {
    this.userToken = token;
    if (this.registration) await this.configureWorker(this.registration);
  }

  /**
   * Ask the browser's permission now: call it from a click or tap, at the moment your app
   * chooses. Resolves with the permission; when granted, subscribes and registers the device.
   */
  async requestPermission() {
    if (!this.isSupported()) return "denied";
    const permission = await this.window.Notification.requestPermission();
    if (permission === "granted") await this.subscribe();
    else if (permission === "denied" && this.knownDeviceId) await this.reportPermission("denied");
    return permission;
  }

  /**
   * Subscribe (or reuse the current subscription when it was made with the app's key) and
   * register it as a web device of the token's user. Needs the permission granted. Returns the
   * device (POST /v1/devices' answer).
   */
  async subscribe() {
    if (!this.isSupported()) throw new PushwiseError(0, "unsupported", "this browser has no Web Push");
    if (this.permission !== "granted") {
      throw new PushwiseError(0, "permission_required", "ask requestPermission() first");
    }
    const registration = await this.serviceWorker();
    const key = this.options.vapidPublicKey || (await this.vapidPublicKey());
    let subscription = await registration.pushManager.getSubscription();
    const madeWith = subscriptionKey(subscription);
    if (subscription && madeWith && madeWith !== key) {
      await subscription.unsubscribe(); // the app's VAPID key changed: the old one is useless
      subscription = null;
    }
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: base64UrlToBytes(key),
      });
    }
    this.remember(await this.registerSubscription(subscription));
    await this.configureWorker(registration, { vapidPublicKey: key });
    return this.device;
  }

  /** Stop pushes to this browser: remove the device, drop the subscription, clear the worker. */
  async unsubscribe() {
    const registration = await this.serviceWorker();
    const subscription = await registration.pushManager.getSubscription();
    const deviceId = this.knownDeviceId;
    if (deviceId) await this.call("DELETE", `/v1/devices/${encodeURIComponent(deviceId)}`);
    if (subscription) await subscription.unsubscribe();
    this.remember(null);
    await this.tellWorker(registration, { type: MESSAGE + "forget" });
  }

  /** The app's VAPID public key: GET /v1/webpush/vapid-public-key (client key). */
  async vapidPublicKey() {
    return (await this.call("GET", "/v1/webpush/vapid-public-key")).vapid_public_key;
  }

  /** POST /v1/devices for `subscription`, with this browser's time zone and language. */
  async registerSubscription(subscription) {
    const body = { platform: "web", subscription: subscription.toJSON(), push_permission: "granted" };
    if (this.userToken) body.user_id = this.userId;
    const zone = safely(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    if (zone) body.timezone = zone;
    const locale = this.window.navigator && this.window.navigator.language;
    if (locale) body.locale = locale;
    return this.call("POST", "/v1/devices", body);
  }

  /** PATCH the device's permission ("granted" or "denied") when the browser's setting changed. */
  async reportPermission(permission) {
    const path = `/v1/devices/${encodeURIComponent(this.knownDeviceId)}`;
    this.remember(await this.call("PATCH", path, { push_permission: permission }));
    return this.device;
  }

  /** Post the user's own events (POST /v1/events): `[{id, type, ...}]`, user_id filled in. */
  async track(events) {
    const userId = this.userId;
    return this.call("POST", "/v1/events", { events: events.map((e) => ({ user_id: userId, ...e })) });
  }

  /** The user's inbox (list, unread count, read/unread, live updates). */
  inbox(options) {
    return new Inbox(this, options);
  }

  async serviceWorker() {
    if (!this.registration) {
      const container = this.window.navigator.serviceWorker;
      // the worker re-registered a subscription the browser replaced: that is our device now
      container.addEventListener("message", (e) => {
        if (e.data && e.data.type === MESSAGE + "device") this.remember(e.data.device);
      });
      const scope = this.options.serviceWorkerScope;
      const registered = await container.register(this.options.serviceWorker, scope ? { scope } : undefined);
      // not `container.ready`: it waits for a worker whose scope covers this page, which a
      // `serviceWorkerScope` elsewhere never gives
      this.registration = await activated(registered);
    }
    return this.registration;
  }

  async configureWorker(registration, extra) {
    this.workerSettings = {
      ...this.workerSettings,
      ...extra,
      baseUrl: this.baseUrl,
      clientKey: this.options.clientKey,
      userToken: this.userToken,
      userId: this.userId,
      deviceId: this.knownDeviceId || undefined,
      defaultTitle: this.options.defaultTitle,
    };
    return this.tellWorker(registration, { type: MESSAGE + "configure", settings: this.workerSettings });
  }

  /** Post `message` to the active worker and wait for its answer. */
  tellWorker(registration, message) {
    const worker = registration.active;
    if (!worker) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const channel = new this.window.MessageChannel();
      channel.port1.onmessage = (e) => {
        channel.port1.close();
        if (e.data && e.data.ok) resolve(e.data.result);
        else reject(e.data);
      };
      worker.postMessage(message, [channel.port2]);
    });
  }

  /** One API call; a 401 for an expired token gets one retry with a token from getUserToken. */
  async call(method, path, body, retried) {
    const response = await this.request(method, path, body);
    if (response.ok) return response.status === 204 ? null : response.json();
    const error = await errorOf(response);
    if (!retried && (await this.renewedToken(error))) return this.call(method, path, body, true);
    throw error;
  }

  request(method, path, body, extra = {}) {
    const headers = { authorization: `Bearer ${this.options.clientKey}`, ...extra.headers };
    if (this.userToken) headers[USER_TOKEN_HEADER] = this.userToken;
    if (body !== undefined) headers["content-type"] = "application/json";
    const fetcher = this.options.fetch || this.window.fetch.bind(this.window);
    return fetcher(this.baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: extra.signal,
    });
  }

  async renewedToken(error) {
    const expired = error.status === 401 && error.code === "user_token_expired";
    if (!expired || !this.options.getUserToken) return false;
    await this.setUserToken(await this.options.getUserToken());
    return true;
  }
}

async function errorOf(response) {
  try {
    const body = await response.json();
    return new PushwiseError(response.status, body.error && body.error.code, body.error && body.error.message);
  } catch {
    return new PushwiseError(response.status, null, `HTTP ${response.status}`);
  }
}

/** The registration once it has an active worker (a first visit waits for the install). */
function activated(registration) {
  if (registration.active) return Promise.resolve(registration);
  const worker = registration.installing || registration.waiting;
  return new Promise((resolve) => {
    worker.addEventListener("statechange", () => {
      if (worker.state === "activated") resolve(registration);
    });
  });
}

function safely(read) {
  try {
    return read();
  } catch {
    return null;
  }
}

/**
 * A user's inbox, kept current: `items` (newest first), `unreadCount`, and listeners told of
 * every change. `error` is set (and the stream stopped) when the credentials are refused for good. `start()` loads the first page and follows GET /v1/inbox/stream, reconnecting
 * with Last-Event-ID after a drop (the server then sends what was missed).
 *
 * options: `limit` (first page size, default 20), `retryMs` (first reconnect delay, default
 * 1000, doubled up to 30 s), `setTimeout` (for tests).
 */
export class Inbox {
  constructor(pushwise, options = {}) {
    this.pushwise = pushwise;
    this.limit = options.limit || 20;
    this.retryMs = options.retryMs || 1000;
    this.setTimeout = options.setTimeout || ((f, ms) => globalThis.setTimeout(f, ms));
    this.items = [];
    this.unreadCount = 0;
    this.error = null;
    this.lastEventId = null;
    this.listeners = new Set();
    this.running = false;
    this.abort = null;
  }

  /** Call `listener(inbox)` after every change; returns the function that stops it. */
  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed() {
    for (const listener of this.listeners) listener(this);
  }

  async load() {
    let page;
    try {
      page = await this.pushwise.call("GET", `/v1/inbox?limit=${this.limit}`);
    } catch (error) {
      if (error.status !== 404) throw error;
      page = { items: [], unread_count: 0 }; // a user pushwise has not met yet has nothing
    }
    this.items = page.items;
    this.unreadCount = page.unread_count;
    // the stream then sends every item newer than the newest listed ("0": all of them)
    this.lastEventId = page.items.length ? String(page.items[0].id) : "0";
    this.changed();
    return this;
  }

  /** Load, then follow the stream until `stop()`. Resolves once the first page is in. */
  async start() {
    await this.load();
    this.running = true;
    this.follow(this.retryMs);
    return this;
  }

  stop() {
    this.running = false;
    if (this.abort) this.abort.abort();
  }

  async follow(delay) {
    let next = delay;
    try {
      if (await this.stream()) next = this.retryMs; // it ran: the next drop starts over
    } catch {
      // a dropped or refused stream is retried below
    }
    if (this.running) this.setTimeout(() => this.follow(Math.min(next * 2, 30000)), next);
  }

  /** One connection: true if it delivered anything before it ended. */
  async stream() {
    this.abort = new AbortController();
    const headers = { accept: "text/event-stream" };
    if (this.lastEventId !== null) headers["last-event-id"] = this.lastEventId;
    const pw = this.pushwise;
    const response = await pw.request("GET", "/v1/inbox/stream", undefined, {
      headers,
      signal: this.abort.signal,
    });
    if (!response.ok) {
      const error = await errorOf(response);
      if (!(await pw.renewedToken(error)) && (error.status === 401 || error.status === 403)) {
        this.error = error; // credentials that waiting will not mend: stop, say why
        this.running = false;
        this.changed();
      }
      return false;
    }
    const parser = new SseParser();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let any = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return any;
      for (const event of parser.push(decoder.decode(value, { stream: true }))) {
        any = true;
        this.apply(event);
      }
    }
  }

  /** One stream event: `item` (a new item, its id the event id) or `unread_count`. */
  apply(event) {
    const data = JSON.parse(event.data);
    if (event.event === "item") {
      if (!this.items.some((item) => item.id === data.id)) this.items = [data, ...this.items];
      if (event.id !== null) this.lastEventId = event.id;
    } else if (event.event === "unread_count") {
      this.unreadCount = data.unread_count;
    } else {
      return;
    }
    this.changed();
  }

  async markRead(itemId) {
    return this.mark(itemId, "read");
  }

  async markUnread(itemId) {
    return this.mark(itemId, "unread");
  }

  async mark(itemId, how) {
    const item = await this.pushwise.call("POST", `/v1/inbox/${encodeURIComponent(itemId)}/${how}`);
    const before = this.items.find((i) => i.id === item.id);
    if (before && before.read !== item.read) this.unreadCount += item.read ? -1 : 1;
    this.items = this.items.map((i) => (i.id === item.id ? item : i));
    this.changed();
    return item;
  }

  async remove(itemId) {
    await this.pushwise.call("DELETE", `/v1/inbox/${encodeURIComponent(itemId)}`);
    const before = this.items.find((i) => i.id === itemId);
    if (before && !before.read) this.unreadCount -= 1;
    this.items = this.items.filter((i) => i.id !== itemId);
    this.changed();
  }
}
