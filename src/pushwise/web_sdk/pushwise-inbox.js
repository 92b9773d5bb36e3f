/* Pushwise Web SDK, inbox widget (an ES module): an unread badge and a list with "mark read".
 *
 *   import { Pushwise } from ".../sdk/pushwise.js";
 *   import { mountInbox } from ".../sdk/pushwise-inbox.js";
 *   const inbox = await new Pushwise({...}).inbox().start();
 *   mountInbox(document.querySelector("#inbox"), inbox);
 *
 * It renders from the Inbox model after every change (a new item or count from the stream, a
 * read mark), with plain DOM nodes and textContent only, so an item's title or body can never
 * inject markup. Classes (`pushwise-inbox`, `pushwise-badge`, `pushwise-item`, `pushwise-unread`,
 * `pushwise-mark-read`) are for the app's stylesheet; the widget ships no styles of its own.
 *
 * options: `onOpen(item)` is called when an item is clicked (default: mark it read and follow
 * its `url`); `labels` ({markRead, empty}) for the app's language.
 */

export function mountInbox(element, inbox, options = {}) {
  const document = element.ownerDocument;
  const labels = { markRead: "Mark read", empty: "No messages", ...options.labels };
  const open =
    options.onOpen ||
    ((item) => {
      const marked = item.read ? Promise.resolve() : inbox.markRead(item.id);
      if (item.url) marked.then(() => document.defaultView.location.assign(item.url));
    });

  const root = document.createElement("section");
  root.className = "pushwise-inbox";
  const badge = document.createElement("span");
  badge.className = "pushwise-badge";
  const list = document.createElement("ul");
  list.className = "pushwise-items";
  root.append(badge, list);
  element.replaceChildren(root);

  function itemNode(item) {
    const node = document.createElement("li");
    node.className = item.read ? "pushwise-item" : "pushwise-item pushwise-unread";
    node.dataset.id = item.id;
    const title = document.createElement("strong");
    title.textContent = item.title || "";
    const body = document.createElement("p");
    body.textContent = item.body || "";
    title.addEventListener("click", () => open(item));
    body.addEventListener("click", () => open(item));
    node.append(title, body);
    if (!item.read) {
      const mark = document.createElement("button");
      mark.type = "button";
      mark.className = "pushwise-mark-read";
      mark.textContent = labels.markRead;
      mark.addEventListener("click", () => inbox.markRead(item.id));
      node.append(mark);
    }
    return node;
  }

  function render() {
    badge.textContent = inbox.unreadCount > 0 ? String(inbox.unreadCount) : "";
    badge.hidden = inbox.unreadCount === 0;
    if (inbox.items.length === 0) {
      const empty = document.createElement("li");
      empty.className = "pushwise-empty";
      empty.textContent = labels.empty;
      list.replaceChildren(empty);
    } else {
      list.replaceChildren(...inbox.items.map(itemNode));
    }
  }

  render();
  const stop = inbox.onChange(render);
  return {
    element: root,
    unmount() {
      stop();
      root.remove();
    },
  };
}
