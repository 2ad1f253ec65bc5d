/** Opens a named popup centred on the current window; `null` when the browser blocks it. */
export const openPopup = (url: string, width: number, height: number): Window | null => {
  const w = window;
  const left = Math.round(w.screenX + (w.outerWidth - width) / 2);
  const top = Math.round(w.screenY + (w.outerHeight - height) / 2);
  // A name of its own per flow, unrelated to the flow id: the pages shown in the popup can read window.name.
  const name = 'keyway' + Math.random().toString(36).slice(2);
  return w.open(url, name, `popup,width=${width},height=${height},left=${left},top=${top}`);
};
