"""The Web SDK: `pushwise.js` (an ES module for the page), `pushwise-sw.js` (a classic script for the
app's service worker) and `pushwise-inbox.js` (the inbox widget), served as they are at `/sdk/`.

Plain files, no build step: an app loads them from its pushwise server or copies them. They are
package data so the wheel carries them; `docs/web-sdk.md` says how to use them.
"""
