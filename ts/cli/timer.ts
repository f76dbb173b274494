/**
 * A timeout of any length. Node's setTimeout takes at most 2^31 - 1 ms
 * (24.8 days); a longer delay (--timeout 3000000) is replaced by 1 ms with
 * a warning, so the run would time out at once. Longer delays are chained:
 * each timer waits at most the maximum and re-arms for what is left.
 */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface LongTimeout {
  clear(): void;
}

/** Calls `fire` once after `ms` milliseconds (never, for an infinite ms). */
export function setLongTimeout(ms: number, fire: () => void): LongTimeout {
  let timer: NodeJS.Timeout | null = null;
  const deadline = performance.now() + ms;
  const arm = (): void => {
    const left = deadline - performance.now();
    if (left <= 0) {
      timer = null;
      fire();
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_DELAY_MS));
  };
  if (Number.isFinite(deadline)) arm();
  return {
    clear(): void {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
