// The Connect UI's frame, loaded on the first openConnectUI() (a chunk of its own in the ES build).
import type { ConnectUI, OnConnectEvent } from './types.ts';

/**
 * A full-window iframe over the app showing `${host}/connect/ui/`. Messages are accepted only from that frame, from
 * the host's origin; the session token is posted to that origin only, once the frame says it is ready.
 */
export const connectUI = (host: string, origin: string, token: string | undefined, onEvent?: OnConnectEvent): ConnectUI => {
  let frame: HTMLIFrameElement | null = null;
  let ready = false;
  let restore: Element | null = null;
  let overflow = '';

  const send = () => {
    if (ready && token) frame?.contentWindow?.postMessage({ source: 'keyway-connect', type: 'session', token }, origin);
  };
  const onMessage = (e: MessageEvent) => {
    const d = e.data;
    if (!frame || e.source !== frame.contentWindow || e.origin !== origin || d?.source !== 'keyway-connect-ui') return;
    const { type, payload } = d;
    if (type == 'ready') {
      ready = true;
      send();
    } else if (type == 'close') ui.close();
    else if (type != 'connect' && type != 'error') return;
    onEvent?.(payload ? { type, payload } : { type });
  };

  const ui: ConnectUI = {
    open() {
      if (frame) return;
      const d = document;
      const body = d.body.style;
      restore = d.activeElement;
      frame = d.createElement('iframe');
      frame.src = `${host}/connect/ui/?origin=${encodeURIComponent(window.location.origin)}`;
      frame.title = 'Connect an account';
      frame.referrerPolicy = 'no-referrer';
      // CSSOM, not a style attribute: allowed under a strict style-src of the app.
      frame.style.cssText = 'position:fixed;inset:0;width:100%;height:100%;border:0;margin:0;z-index:2147483647;background:transparent;color-scheme:light';
      overflow = body.overflow;
      body.overflow = 'hidden';
      window.addEventListener('message', onMessage);
      d.body.append(frame);
      frame.focus();
    },
    close() {
      if (!frame) return;
      window.removeEventListener('message', onMessage);
      frame.remove();
      frame = null;
      ready = false;
      document.body.style.overflow = overflow;
      (restore as HTMLElement | null)?.focus?.();
    },
    setSessionToken(t) {
      token = t;
      send();
    },
  };
  return ui;
};
