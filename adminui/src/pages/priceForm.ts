// The price form shared by adding a price and the re-pricing preview:
// dollars typed per million tokens become integer micro-dollars here, and
// nowhere else.
import type { Schemas } from '../api/client';
import { parseMoney } from '../lib/format';
import { localInputToInstant } from '../lib/time';

export interface PriceFormValues {
  model: string;
  route: string;
  from: string; // datetime-local in the viewer's zone
  input: string;
  output: string;
  cacheRead: string;
  cacheWrite: string;
  cacheWrite1h: string; // "" for 2× input
  // One tier, for requests whose prompt is over tierAbove tokens; "" for none.
  tierAbove: string;
  tierInput: string;
  tierOutput: string;
  tierCacheRead: string;
  tierCacheWrite: string;
  tierCacheWrite1h: string;
  source: string;
}

export function emptyPriceForm(model = ''): PriceFormValues {
  return {
    model, route: '', from: '', input: '', output: '', cacheRead: '', cacheWrite: '', cacheWrite1h: '',
    tierAbove: '', tierInput: '', tierOutput: '', tierCacheRead: '', tierCacheWrite: '', tierCacheWrite1h: '', source: '',
  };
}

/** rate reads dollars per million tokens as micro-dollars; an empty optional rate is 0, anything unreadable null. */
function rate(s: string, required: boolean): number | null {
  return s.trim() === '' && !required ? 0 : parseMoney(s);
}

type TierBody = Schemas['PriceTier'];

/** tierBody reads the form's tier: undefined without one, null when it does not read. */
function tierBody(v: PriceFormValues): TierBody | undefined | null {
  const fields = [v.tierAbove, v.tierInput, v.tierOutput, v.tierCacheRead, v.tierCacheWrite, v.tierCacheWrite1h];
  if (fields.every((f) => f.trim() === '')) return undefined;
  const above = v.tierAbove.trim();
  if (!/^\d+$/.test(above) || Number(above) <= 0 || !Number.isSafeInteger(Number(above))) return null;
  const input = rate(v.tierInput, true);
  const output = rate(v.tierOutput, true);
  const cacheRead = rate(v.tierCacheRead, false);
  const cacheWrite = rate(v.tierCacheWrite, false);
  const cacheWrite1h = rate(v.tierCacheWrite1h, false);
  if (input === null || output === null || cacheRead === null || cacheWrite === null || cacheWrite1h === null) return null;
  return {
    above_tokens: Number(above),
    input_micros_per_mtok: input,
    output_micros_per_mtok: output,
    cache_read_micros_per_mtok: cacheRead,
    cache_write_micros_per_mtok: cacheWrite,
    ...(cacheWrite1h ? { cache_write_1h_micros_per_mtok: cacheWrite1h } : {}),
  };
}

/**
 * priceBody checks a price form; dollar rates become micro-dollars per
 * million tokens. It is null when a required field is missing or a figure
 * does not read; rates left empty are not sent (a 1-hour write rate then
 * is 2× input).
 */
export function priceBody(v: PriceFormValues, tz: string): Schemas['PriceBody'] | null {
  const input = rate(v.input, true);
  const output = rate(v.output, true);
  const cacheRead = rate(v.cacheRead, false);
  const cacheWrite = rate(v.cacheWrite, false);
  const cacheWrite1h = rate(v.cacheWrite1h, false);
  const tier = tierBody(v);
  const from = localInputToInstant(v.from, tz);
  if (!v.model.trim() || input === null || output === null || cacheRead === null || cacheWrite === null || cacheWrite1h === null || tier === null || !from) return null;
  return {
    model: v.model.trim(),
    ...(v.route.trim() ? { route: v.route.trim() } : {}),
    effective_from: from,
    input_micros_per_mtok: input,
    output_micros_per_mtok: output,
    ...(cacheRead ? { cache_read_micros_per_mtok: cacheRead } : {}),
    ...(cacheWrite ? { cache_write_micros_per_mtok: cacheWrite } : {}),
    ...(cacheWrite1h ? { cache_write_1h_micros_per_mtok: cacheWrite1h } : {}),
    ...(tier ? { tiers: [tier] } : {}),
    ...(v.source.trim() ? { source: v.source.trim() } : {}),
  };
}
