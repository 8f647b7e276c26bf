// Every figure the portal shows goes through this module: money arrives
// from the API as integer micro-dollars and is never turned into a float
// for display, so what an operator reads is exactly what is billed.

const MICROS_PER_DOLLAR = 1_000_000;

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * formatMoney renders integer micro-dollars as dollars with up to six
 * decimals, trailing zeros trimmed to cents: 1234567 → "$1.234567",
 * 1500000 → "$1.50", 0 → "$0.00", -250 → "-$0.00025".
 */
export function formatMoney(micros: number): string {
  if (!Number.isSafeInteger(micros)) return '—';
  const neg = micros < 0;
  const abs = Math.abs(micros);
  const dollars = Math.floor(abs / MICROS_PER_DOLLAR);
  let frac = String(abs % MICROS_PER_DOLLAR).padStart(6, '0').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${neg ? '-' : ''}$${groupThousands(String(dollars))}.${frac}`;
}

/**
 * formatMoneyShort is for chart axes and tight cells: "$1.2k", "$3.40",
 * "$0.0012". Exact figures are in tooltips and tables.
 */
export function formatMoneyShort(micros: number): string {
  const abs = Math.abs(micros);
  const sign = micros < 0 ? '-' : '';
  if (abs >= 1_000_000 * MICROS_PER_DOLLAR) return `${sign}$${trimFixed(abs / 1e12, 1)}M`;
  if (abs >= 10_000 * MICROS_PER_DOLLAR) return `${sign}$${trimFixed(abs / 1e9, 1)}k`;
  if (abs >= MICROS_PER_DOLLAR || abs === 0) return `${sign}$${(abs / MICROS_PER_DOLLAR).toFixed(2)}`;
  // Below a dollar: enough significant digits to tell values apart.
  return `${sign}$${trimFixed(abs / MICROS_PER_DOLLAR, Math.min(6, 2 - Math.floor(Math.log10(abs / MICROS_PER_DOLLAR))))}`;
}

function trimFixed(n: number, digits: number): string {
  const s = n.toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/**
 * parseMoney reads dollars typed by a person ("12.5", "$1,000", "0.000001")
 * as integer micro-dollars without floating point; null when it is not an
 * amount or has more than six decimals.
 */
export function parseMoney(text: string): number | null {
  const t = text.trim().replace(/^\$/, '').replace(/,/g, '');
  const m = /^(\d+)(?:\.(\d{0,6}))?$/.exec(t);
  if (!m) return null;
  const whole = Number(m[1]);
  const frac = Number((m[2] ?? '').padEnd(6, '0'));
  const v = whole * MICROS_PER_DOLLAR + frac;
  return Number.isSafeInteger(v) ? v : null;
}

/** microsToDollarsInput is the inverse of parseMoney for form fields: 12500000 → "12.5". */
export function microsToDollarsInput(micros: number): string {
  const dollars = Math.floor(micros / MICROS_PER_DOLLAR);
  const frac = String(micros % MICROS_PER_DOLLAR).padStart(6, '0').replace(/0+$/, '');
  return frac ? `${dollars}.${frac}` : String(dollars);
}

/** formatTokens renders a count in full with thousands separators: 1234567 → "1,234,567". */
export function formatTokens(n: number): string {
  if (!Number.isSafeInteger(n)) return '—';
  return (n < 0 ? '-' : '') + groupThousands(String(Math.abs(n)));
}

/** formatCount is formatTokens for any count (requests, errors, keys). */
export const formatCount = formatTokens;

/** formatTokensShort is for chart axes: 950 → "950", 12500 → "12.5k", 3400000 → "3.4M". */
export function formatTokensShort(n: number): string {
  const abs = Math.abs(n);
  const sign = n < 0 ? '-' : '';
  if (abs >= 1e9) return `${sign}${trimFixed(abs / 1e9, 2)}B`;
  if (abs >= 1e6) return `${sign}${trimFixed(abs / 1e6, 2)}M`;
  if (abs >= 1e3) return `${sign}${trimFixed(abs / 1e3, 1)}k`;
  return `${sign}${abs}`;
}

/** formatPercent renders a fraction: 0.1234 → "12.3%". */
export function formatPercent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return '—';
  return `${trimFixed(fraction * 100, digits)}%`;
}

/** Change is a figure against the previous period's. */
export interface Change {
  /** direction of the change; "new" when the previous period had none. */
  direction: 'up' | 'down' | 'same' | 'new';
  /** fraction of the previous value, absent for "same" and "new". */
  fraction?: number;
}

/** change compares current with previous. */
export function change(current: number, previous: number): Change {
  if (current === previous) return { direction: 'same' };
  if (previous === 0) return { direction: 'new' };
  const fraction = (current - previous) / Math.abs(previous);
  return { direction: fraction > 0 ? 'up' : 'down', fraction: Math.abs(fraction) };
}

/** budgetShare is the spent fraction of a budget; null without a budget. */
export function budgetShare(spentMicros: number | undefined, budgetMicros: number): number | null {
  if (budgetMicros <= 0) return null;
  return (spentMicros ?? 0) / budgetMicros;
}
