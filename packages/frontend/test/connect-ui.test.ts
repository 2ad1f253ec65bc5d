import { beforeEach, describe, expect, it, vi } from 'vitest';
import Nango, { type ConnectUIEvent } from '../src/index.ts';
import { APP_ORIGIN, HOST, useFakes, type Fakes } from './fakes.ts';

const TOKEN = 'kw_cs_' + 'a'.repeat(43);
const UI_URL = `${HOST}/connect/ui/?origin=${encodeURIComponent(APP_ORIGIN)}`;

/** Just enough of a document for the Connect UI's frame: body, focus, iframes with their own window. */
class FakeElement {
  constructor(protected doc: FakeDocument) {}
  focus = vi.fn(() => {
    this.doc.activeElement = this;
  });
}
class FakeIframe extends FakeElement {
  src = '';
  title = '';
  referrerPolicy = '';
  style = { cssText: '' };
  contentWindow: { postMessage: ReturnType<typeof vi.fn> } | null = { postMessage: vi.fn() };
  remove = vi.fn(() => {
    this.doc.body.children = this.doc.body.children.filter((c) => c !== this);
    this.contentWindow = null;
    if (this.doc.activeElement === this) this.doc.activeElement = this.doc.body;
  });
}
class FakeDocument {
  body = { style: { overflow: 'scroll' }, children: [] as FakeIframe[], append: (el: FakeIframe) => void this.body.children.push(el) };
  button = new FakeElement(this);
  activeElement: unknown = this.button;
  createElement = vi.fn((tag: string) => {
    if (tag !== 'iframe') throw new Error(tag);
    return new FakeIframe(this);
  });
}

describe('openConnectUI', () => {
  const fakes = useFakes();
  let doc: FakeDocument;
  let events: ConnectUIEvent[];
  const onEvent = (e: ConnectUIEvent) => void events.push(e);
  beforeEach(() => {
    doc = new FakeDocument();
    events = [];
    vi.stubGlobal('document', doc);
  });
  const loaded = () => vi.dynamicImportSettled();
  const frame = () => doc.body.children.at(-1)!;
  /** A message from the frame's window (the default), or from another source. */
  const fromFrame = (f: Fakes, data: unknown, origin = HOST, source: unknown = frame().contentWindow) => f.post({ source: 'keyway-connect-ui', ...(data as object) }, origin, source);
  const posted = () => frame().contentWindow!.postMessage.mock.calls;

  it('returns at once, then shows the UI in a full-window, titled iframe on the Keyway host and focuses it', async () => {
    const ui = new Nango({ host: HOST, connectSessionToken: TOKEN }).openConnectUI({ onEvent });
    expect(Object.keys(ui).sort()).toEqual(['close', 'open', 'setSessionToken']);
    expect(doc.body.children).toHaveLength(0); // the frame's code is loaded first
    await loaded();
    expect(doc.body.children).toHaveLength(1);
    const f = frame();
    expect(f.src).toBe(UI_URL);
    expect(f.title).toBe('Connect an account');
    expect(f.referrerPolicy).toBe('no-referrer');
    expect(f.style.cssText).toContain('position:fixed;inset:0');
    expect(doc.body.style.overflow).toBe('hidden');
    expect(doc.activeElement).toBe(f);
    expect(fakes().listeners.size).toBe(1);
    expect(events).toEqual([]);
  });

  it("sends the constructor's session token when the frame is ready, to the host's origin only", async () => {
    const f = fakes();
    new Nango({ host: HOST, connectSessionToken: TOKEN }).openConnectUI({ onEvent });
    await loaded();
    expect(posted()).toEqual([]);
    fromFrame(f, { type: 'ready' });
    expect(posted()).toEqual([[{ source: 'keyway-connect', type: 'session', token: TOKEN }, HOST]]);
    expect(events).toEqual([{ type: 'ready' }]);
  });

  it('a host with a path prefix: the UI under the prefix, messages by origin', async () => {
    const f = fakes();
    new Nango({ host: `${HOST}/keyway/`, connectSessionToken: TOKEN }).openConnectUI({ onEvent });
    await loaded();
    expect(frame().src).toBe(`${HOST}/keyway/connect/ui/?origin=${encodeURIComponent(APP_ORIGIN)}`);
    fromFrame(f, { type: 'ready' });
    expect(posted()[0]![1]).toBe(HOST);
  });

  it('the sessionToken option wins; setSessionToken gives a token later, or a new one', async () => {
    const f = fakes();
    const ui = new Nango({ host: HOST, publicKey: 'pk' }).openConnectUI({ onEvent });
    await loaded();
    fromFrame(f, { type: 'ready' });
    expect(posted()).toEqual([]); // no token yet: the UI waits
    ui.setSessionToken('kw_cs_later');
    ui.setSessionToken('kw_cs_newer');
    expect(posted().map((c) => (c[0] as { token: string }).token)).toEqual(['kw_cs_later', 'kw_cs_newer']);

    ui.close();
    const other = new Nango({ host: HOST, connectSessionToken: TOKEN }).openConnectUI({ sessionToken: 'kw_cs_option' });
    other.setSessionToken('kw_cs_before_ready'); // kept until the frame is ready
    await loaded();
    expect(posted()).toEqual([]);
    fromFrame(f, { type: 'ready' });
    expect(posted()).toEqual([[{ source: 'keyway-connect', type: 'session', token: 'kw_cs_before_ready' }, HOST]]);
  });

  it('ignores messages from another origin, another window, or not from the Connect UI', async () => {
    const f = fakes();
    new Nango({ host: HOST, connectSessionToken: TOKEN }).openConnectUI({ onEvent });
    await loaded();
    fromFrame(f, { type: 'ready' }, 'https://evil.example');
    fromFrame(f, { type: 'ready' }, APP_ORIGIN);
    fromFrame(f, { type: 'ready' }, HOST, window);
    fromFrame(f, { type: 'ready' }, HOST, { postMessage() {} });
    fromFrame(f, { type: 'ready' }, HOST, null);
    f.post({ source: 'keyway', type: 'ready' }, HOST, frame().contentWindow);
    f.post('ready', HOST, frame().contentWindow);
    f.post(null, HOST, frame().contentWindow);
    fromFrame(f, { type: 'connect', payload: { providerConfigKey: 'x', connectionId: 'y' } }, 'https://evil.example');
    fromFrame(f, { type: 'close' }, HOST, window);
    fromFrame(f, { type: 'settings_changed' });
    expect(posted()).toEqual([]);
    expect(events).toEqual([]);
    expect(doc.body.children).toHaveLength(1);
  });

  it('forwards connect and error events with their payload', async () => {
    const f = fakes();
    new Nango({ host: HOST, connectSessionToken: TOKEN }).openConnectUI({ onEvent });
    await loaded();
    fromFrame(f, { type: 'error', payload: { errorType: 'invalid_credentials', errorMessage: 'The provider refused these credentials (401)' } });
    fromFrame(f, { type: 'connect', payload: { providerConfigKey: 'github', connectionId: 'user-42' } });
    expect(events).toEqual([
      { type: 'error', payload: { errorType: 'invalid_credentials', errorMessage: 'The provider refused these credentials (401)' } },
      { type: 'connect', payload: { providerConfigKey: 'github', connectionId: 'user-42' } },
    ]);
    expect(doc.body.children).toHaveLength(1); // the UI shows its success screen until the user closes it
  });

  it("the UI's close event removes the frame, restores the page and the focus, then tells the app", async () => {
    const f = fakes();
    new Nango({ host: HOST, connectSessionToken: TOKEN }).openConnectUI({
      onEvent: (e) => {
        expect(doc.body.children).toHaveLength(0);
        onEvent(e);
      },
    });
    await loaded();
    const removed = frame();
    fromFrame(f, { type: 'close' });
    expect(removed.remove).toHaveBeenCalled();
    expect(events).toEqual([{ type: 'close' }]);
    expect(doc.body.style.overflow).toBe('scroll');
    expect(doc.activeElement).toBe(doc.button);
    expect(f.listeners.size).toBe(0);
  });

  it('close() removes it too (no event), open() shows a fresh frame, and open() twice shows one', async () => {
    const f = fakes();
    const ui = new Nango({ host: HOST, connectSessionToken: TOKEN }).openConnectUI({ onEvent });
    await loaded();
    const first = frame();
    fromFrame(f, { type: 'ready' });
    ui.close();
    ui.close();
    expect(first.remove).toHaveBeenCalledTimes(1);
    expect(doc.body.children).toHaveLength(0);
    expect(doc.activeElement).toBe(doc.button);
    expect(f.listeners.size).toBe(0);
    first.contentWindow = { postMessage: vi.fn() }; // a late message from the removed frame is ignored
    f.post({ source: 'keyway-connect-ui', type: 'connect', payload: {} }, HOST, first.contentWindow);
    expect(events).toEqual([{ type: 'ready' }]);

    ui.open();
    ui.open();
    expect(doc.body.children).toHaveLength(1);
    expect(frame()).not.toBe(first);
    expect(posted()).toEqual([]); // the token goes once the new frame is ready
    fromFrame(f, { type: 'ready' });
    expect(posted()).toHaveLength(1);
  });

  it('calls made before the code is loaded are applied in order', async () => {
    const ui = new Nango({ host: HOST }).openConnectUI({ onEvent });
    ui.setSessionToken(TOKEN);
    ui.close();
    await loaded();
    expect(doc.body.children).toHaveLength(0);
    expect(doc.createElement).toHaveBeenCalledTimes(1);
    expect(doc.body.style.overflow).toBe('scroll');
  });
});

describe('the Connect UI code', () => {
  it('touches no browser global when loaded or when openConnectUI is not called', async () => {
    const touched: string[] = [];
    for (const name of ['window', 'document', 'location']) {
      vi.stubGlobal(name, undefined);
      Object.defineProperty(globalThis, name, {
        configurable: true,
        get() {
          touched.push(name);
          throw new ReferenceError(`${name} is not defined`);
        },
      });
    }
    try {
      const { connectUI } = await import('../src/connect-ui.ts');
      connectUI(HOST, HOST, TOKEN);
      new Nango({ host: HOST });
      expect(touched).toEqual([]);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
