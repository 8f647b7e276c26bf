// TanStack Query hooks over the typed client, one per view the pages share.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, unwrap } from './client';

/** REFRESH is how often usage views refresh themselves while open: roll-ups land within seconds. */
const REFRESH = 60_000;

export interface WindowQuery {
  from: string;
  to: string;
  tz: string;
  key_id?: string;
  model?: string;
}

function clean<T extends object>(q: T): T {
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined && v !== '')) as T;
}

export function useSummary(q: WindowQuery) {
  return useQuery({
    queryKey: ['usage', 'summary', q],
    refetchInterval: REFRESH,
    queryFn: async () => unwrap(await api.GET('/api/usage/summary', { params: { query: clean(q) } })),
    placeholderData: keepPreviousData,
  });
}

export interface SeriesQuery extends WindowQuery {
  granularity: 'hour' | 'day';
  group_by: 'none' | 'model' | 'key';
}

export function useSeries(q: SeriesQuery) {
  return useQuery({
    queryKey: ['usage', 'series', q],
    refetchInterval: REFRESH,
    queryFn: async () => unwrap(await api.GET('/api/usage/series', { params: { query: clean(q) } })),
    placeholderData: keepPreviousData,
  });
}

export function useTop(q: WindowQuery & { by: 'key' | 'model'; metric?: 'cost' | 'tokens' | 'requests'; limit?: number }) {
  return useQuery({
    queryKey: ['usage', 'top', q],
    refetchInterval: REFRESH,
    queryFn: async () => unwrap(await api.GET('/api/usage/top', { params: { query: clean(q) } })),
    placeholderData: keepPreviousData,
  });
}

/** useAllKeys reads up to 500 keys (the page size limit) for pickers and the budget watch. */
export function useAllKeys() {
  return useQuery({
    queryKey: ['keys', 'all'],
    queryFn: async () => unwrap(await api.GET('/api/keys', { params: { query: { limit: 500 } } })),
  });
}

export function useRoutes() {
  return useQuery({
    queryKey: ['routes'],
    queryFn: async () => unwrap(await api.GET('/api/routes')),
  });
}
