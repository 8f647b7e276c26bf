// CSV export. The file is the admin API's own CSV of the view on screen
// (same parameters, same integers); the portal fetches it with the
// signed-in person's token and saves it. In 中文 the header row is
// translated here, column order and figures unchanged, and the file starts
// with a byte order mark so that spreadsheet programs read it as UTF-8.

/** translateHeader replaces the first line's column names through names; unknown names stay. */
export function translateHeader(csv: string, names: Record<string, string>): string {
  const nl = csv.indexOf('\n');
  const head = nl < 0 ? csv : csv.slice(0, nl);
  const rest = nl < 0 ? '' : csv.slice(nl);
  const cr = head.endsWith('\r');
  const cols = (cr ? head.slice(0, -1) : head).split(',');
  const out = cols.map((c) => {
    const n = names[c];
    if (n === undefined) return c;
    return /[",\n]/.test(n) ? `"${n.replace(/"/g, '""')}"` : n;
  });
  return out.join(',') + (cr ? '\r' : '') + rest;
}

/** parseCSV reads RFC 4180 CSV into rows of fields. */
export function parseCSV(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const src = text.startsWith('\uFEFF') ? text.slice(1) : text;
  for (let i = 0; i < src.length; i++) {
    const c = src.charAt(i);
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** saveText offers text as a file download. */
export function saveText(text: string, filename: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
