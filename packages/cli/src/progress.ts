/** Progress of a long command: `done` of `total` items. */
export type Progress = (done: number, total: number) => void;

const BAR = 24;

/** A bar on a terminal (redrawn in place, at most once per percent); a line per tenth elsewhere (logs). */
export function progressFor(io: { readonly isTTY: boolean }, out: { write(s: string): unknown }, label: string): Progress {
  return io.isTTY ? barProgress(out, label) : lineProgress(out, label);
}

function barProgress(out: { write(s: string): unknown }, label: string): Progress {
  let shown = -1;
  return (done, total) => {
    const percent = total === 0 ? 100 : Math.floor((done * 100) / total);
    if (percent === shown && done !== total) return;
    shown = percent;
    const filled = Math.round((percent * BAR) / 100);
    out.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${done}/${total}`);
  };
}

function lineProgress(out: { write(s: string): unknown }, label: string): Progress {
  let shown = -1;
  return (done, total) => {
    const tenth = total === 0 ? 0 : Math.floor((done * 10) / total);
    if (tenth === shown && done !== total) return;
    shown = tenth;
    out.write(`${label}: ${done}/${total}\n`);
  };
}
