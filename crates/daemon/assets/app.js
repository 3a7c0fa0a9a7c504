// shoal web UI: talks to the daemon's HTTP API (/api/v1) with the bearer token.
//
// Served by `shoal daemon` under a strict Content-Security-Policy: this file is the only
// script, nothing is loaded from elsewhere, and no string from a torrent, a peer or the
// network ever becomes HTML: the DOM is built with createElement and textContent only.
//
// Live updates come from GET /api/v1/events (server-sent events read through fetch()
// so the token travels in the Authorization header); when that stream fails or stalls,
// the list is polled every second and the stream is retried.

const TOKEN_KEY = 'shoal.token';
const POLL_MS = 1000;
const STREAM_RETRY_MS = 5000;
const STREAM_STALL_MS = 6000;
const DETAIL_MS = 2000;

const $ = (id) => document.getElementById(id);

const ui = {
  token: null,
  torrents: new Map(), // id -> TorrentSummary, as last received
  rows: new Map(), // id -> row elements of the list
  session: null,
  detailId: null,
  detailTimer: null,
  filesDirty: false,
  files: [], // FileInfo of the open detail view
  fileRows: new Map(), // index -> row elements
  qrUrls: { add: null, detail: null }, // blob: URLs to revoke
  live: { mode: 'off', abort: null, pollTimer: null, retryTimer: null, gen: 0 },
  statusTimer: null,
};

// ---------------------------------------------------------------- helpers

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function el(tag, opts = {}, children = []) {
  const e = document.createElement(tag);
  if (opts.cls) e.className = opts.cls;
  if (opts.text !== undefined) e.textContent = String(opts.text);
  if (opts.title) e.title = opts.title;
  if (opts.testid) e.dataset.testid = opts.testid;
  if (opts.type) e.type = opts.type;
  for (const c of children) e.append(c);
  return e;
}

/** Sets text only when it changed (keeps layout work down on every tick). */
function setText(e, s) {
  const v = String(s);
  if (e.textContent !== v) e.textContent = v;
}

// Peers whose handshakes failed on the encryption policy, as the CLI says it.
function refusalText(refused) {
  const r = refused || {};
  const part = (n, why) => (n ? `${n} ${n === 1 ? 'peer' : 'peers'} refused: ${why}` : '');
  return [part(r.require_encryption, 'they require encryption'),
    part(r.refuse_encryption, 'they do not encrypt')].filter(Boolean).join('; ');
}

function fmtPeers(t) {
  const r = t.refused_peers || {};
  const n = (r.require_encryption || 0) + (r.refuse_encryption || 0);
  return n ? `${t.peers} (${n} refused)` : String(t.peers);
}

function setWidth(e, fraction) {
  const pct = `${Math.max(0, Math.min(100, fraction * 100)).toFixed(1)}%`;
  if (e.style.width !== pct) e.style.width = pct; // CSSOM, allowed by the CSP
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

function fmtBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return '—';
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i += 1;
  }
  if (i === 0) return `${n} B`;
  return `${n >= 100 ? n.toFixed(0) : n.toFixed(1)} ${UNITS[i]}`;
}

function fmtRate(n) {
  return n > 0 ? `${fmtBytes(n)}/s` : '—';
}

function fmtDuration(secs) {
  if (typeof secs !== 'number' || !Number.isFinite(secs) || secs < 0) return '—';
  const s = Math.floor(secs);
  const pad = (x) => String(x).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

function fmtEta(t) {
  if (t.state !== 'downloading') return '—';
  return t.eta_secs === null || t.eta_secs === undefined ? '∞' : fmtDuration(t.eta_secs);
}

function fmtPct(p) {
  return `${(Math.max(0, Math.min(1, p || 0)) * 100).toFixed(1)}%`;
}

function showStatus(msg, kind = 'info') {
  const s = $('status');
  s.textContent = msg;
  s.dataset.kind = kind;
  s.hidden = false;
  clearTimeout(ui.statusTimer);
  ui.statusTimer = setTimeout(() => { s.hidden = true; }, kind === 'error' ? 8000 : 4000);
}

function errText(e) {
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------- API

function tid(id) {
  return `/api/v1/torrents/${encodeURIComponent(id)}`;
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${ui.token}` };
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  if (resp.status === 401) {
    onUnauthorized();
    throw new HttpError(401, 'the daemon rejected the token');
  }
  if (!resp.ok) {
    let msg = `${resp.status} ${resp.statusText}`;
    try {
      const j = await resp.json();
      if (j && typeof j.error === 'string') msg = j.error;
    } catch { /* not JSON */ }
    throw new HttpError(resp.status, msg);
  }
  if (resp.status === 204) return null;
  const ct = resp.headers.get('content-type') || '';
  return ct.includes('json') ? resp.json() : null;
}

/** Fetches the torrent's QR code with the token and shows it in `img` as a blob: URL. */
async function loadQr(img, id, slot) {
  const resp = await fetch(`${tid(id)}/qr.svg`, {
    headers: { Authorization: `Bearer ${ui.token}` },
    cache: 'no-store',
  });
  if (!resp.ok) throw new HttpError(resp.status, `QR code: ${resp.status}`);
  const blob = await resp.blob();
  const svg = new Blob([blob], { type: 'image/svg+xml' });
  if (ui.qrUrls[slot]) URL.revokeObjectURL(ui.qrUrls[slot]);
  ui.qrUrls[slot] = URL.createObjectURL(svg);
  img.src = ui.qrUrls[slot];
  img.hidden = false;
}

// ---------------------------------------------------------------- token

function storedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(t) {
  try {
    if (t) localStorage.setItem(TOKEN_KEY, t);
    else localStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: keep it for this page only */ }
}

/** `#token=...` in the URL: remember it and drop it from the address bar. */
function tokenFromFragment() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const t = params.get('token');
  if (!t) return null;
  history.replaceState(null, '', location.pathname + location.search);
  return t.trim();
}

function showLogin(message) {
  stopLive();
  closeDetail();
  $('main').hidden = true;
  $('session-stats').hidden = true;
  $('top-actions').hidden = true;
  $('login').hidden = false;
  const err = $('login-error');
  err.textContent = message || '';
  err.hidden = !message;
  $('token-input').focus();
}

function onUnauthorized() {
  if (!ui.token) return;
  ui.token = null;
  storeToken(null);
  showLogin('The daemon rejected the token. Paste the current one.');
}

async function connect(token) {
  ui.token = token;
  try {
    const session = await api('GET', '/api/v1/session');
    storeToken(token);
    $('login').hidden = true;
    $('main').hidden = false;
    $('session-stats').hidden = false;
    $('top-actions').hidden = false;
    renderSession(session);
    await refreshList();
    startStream();
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) return; // login shown already
    showLogin(`Cannot reach the daemon: ${errText(e)}`);
    ui.token = token; // keep it: the daemon may just be restarting
  }
}

// ---------------------------------------------------------------- live updates

function setConn(mode) {
  ui.live.mode = mode;
  const c = $('conn');
  c.dataset.mode = mode;
  setText(c, mode === 'live' ? 'live' : mode === 'polling' ? 'polling' : 'offline');
}

function stopLive() {
  const l = ui.live;
  l.gen += 1;
  if (l.abort) l.abort.abort();
  l.abort = null;
  clearTimeout(l.pollTimer);
  clearTimeout(l.retryTimer);
  l.pollTimer = null;
  l.retryTimer = null;
  setConn('off');
}

function startPolling() {
  const l = ui.live;
  if (l.pollTimer) return;
  const gen = l.gen;
  const seq = (l.pollSeq = (l.pollSeq || 0) + 1);
  const alive = () => gen === l.gen && seq === l.pollSeq && l.pollTimer !== null;
  setConn('polling');
  const tick = async () => {
    if (!alive()) return;
    try {
      await Promise.all([refreshList(), refreshSession()]);
      if (alive()) setConn('polling');
    } catch {
      if (alive() && ui.token) setConn('off');
    }
    if (alive()) l.pollTimer = setTimeout(tick, POLL_MS);
  };
  l.pollTimer = setTimeout(tick, POLL_MS);
}

function stopPolling() {
  const l = ui.live;
  clearTimeout(l.pollTimer);
  l.pollTimer = null;
  l.pollSeq = (l.pollSeq || 0) + 1;
}

function onSseEvent(name, data) {
  let value;
  try {
    value = JSON.parse(data);
  } catch {
    return;
  }
  if (name === 'torrents' && Array.isArray(value)) renderTorrents(value);
  else if (name === 'session' && value && typeof value === 'object') renderSession(value);
}

/** Reads GET /api/v1/events; falls back to polling when it ends, fails or stalls. */
async function startStream() {
  const l = ui.live;
  const gen = l.gen;
  const ctrl = new AbortController();
  l.abort = ctrl;
  let stalled = false;
  let last = Date.now();
  const watchdog = setInterval(() => {
    if (Date.now() - last > STREAM_STALL_MS) {
      stalled = true;
      ctrl.abort();
    }
  }, 1000);
  try {
    const resp = await fetch('/api/v1/events', {
      headers: { Authorization: `Bearer ${ui.token}`, Accept: 'text/event-stream' },
      cache: 'no-store',
      signal: ctrl.signal,
    });
    if (resp.status === 401) {
      clearInterval(watchdog);
      onUnauthorized();
      return;
    }
    if (!resp.ok || !resp.body) throw new Error(`events: HTTP ${resp.status}`);
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let event = 'message';
    let data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      last = Date.now();
      buf += value;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        let line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          if (data.length) {
            if (l.mode !== 'live') {
              stopPolling();
              setConn('live');
            }
            onSseEvent(event, data.join('\n'));
          }
          event = 'message';
          data = [];
        } else if (!line.startsWith(':')) {
          const c = line.indexOf(':');
          const field = c < 0 ? line : line.slice(0, c);
          let val = c < 0 ? '' : line.slice(c + 1);
          if (val.startsWith(' ')) val = val.slice(1);
          if (field === 'event') event = val;
          else if (field === 'data') data.push(val);
        }
      }
    }
  } catch (e) {
    if (!stalled && ctrl.signal.aborted) {
      clearInterval(watchdog);
      return; // stopped on purpose
    }
  }
  clearInterval(watchdog);
  if (gen !== l.gen || !ui.token) return;
  l.abort = null;
  startPolling();
  l.retryTimer = setTimeout(() => {
    if (gen === l.gen) startStream();
  }, STREAM_RETRY_MS);
}

async function refreshList() {
  const list = await api('GET', '/api/v1/torrents');
  if (Array.isArray(list)) renderTorrents(list);
}

async function refreshSession() {
  const s = await api('GET', '/api/v1/session');
  if (s) renderSession(s);
}

function refreshSoon() {
  refreshList().catch((e) => showStatus(errText(e), 'error'));
}

// ---------------------------------------------------------------- torrent list

function renderSession(s) {
  ui.session = s;
  setText($('stat-down'), fmtRate(s.download_rate) === '—' ? '0 B/s' : fmtRate(s.download_rate));
  setText($('stat-up'), fmtRate(s.upload_rate) === '—' ? '0 B/s' : fmtRate(s.upload_rate));
  setText($('stat-torrents'), s.torrents);
  setText($('stat-peers'), s.peers);
}

function makeRow(id) {
  const r = {};
  r.tr = el('tr', { testid: 'torrent-row' });
  r.tr.dataset.id = id;

  r.name = el('button', { cls: 'linkish', testid: 'open', type: 'button' });
  r.name.addEventListener('click', () => openDetail(id));
  r.err = el('div', { cls: 'error small', testid: 'error' });
  r.err.hidden = true;
  r.tr.append(el('td', { cls: 'col-name' }, [r.name, r.err]));

  r.fill = el('div', { cls: 'fill' });
  r.bar = el('div', { cls: 'bar' }, [r.fill]);
  r.bar.setAttribute('role', 'progressbar');
  r.bar.setAttribute('aria-valuemin', '0');
  r.bar.setAttribute('aria-valuemax', '100');
  r.pct = el('span', { cls: 'pct', testid: 'progress' });
  r.tr.append(el('td', { cls: 'col-progress' }, [r.bar, r.pct]));

  r.state = el('span', { cls: 'badge', testid: 'state' });
  r.tr.append(el('td', {}, [r.state]));

  for (const k of ['down', 'up', 'peers', 'ratio', 'eta']) {
    r[k] = el('td', { cls: 'num', testid: k });
    r.tr.append(r[k]);
  }

  r.pause = el('button', { cls: 'ghost small', text: 'Pause', testid: 'pause', type: 'button' });
  r.resume = el('button', { cls: 'ghost small', text: 'Resume', testid: 'resume', type: 'button' });
  r.remove = el('button', { cls: 'ghost small danger-text', text: 'Remove', testid: 'remove', type: 'button' });
  r.pause.addEventListener('click', () => torrentAction(id, 'pause', r.pause));
  r.resume.addEventListener('click', () => torrentAction(id, 'resume', r.resume));
  r.remove.addEventListener('click', () => askRemove(id));
  r.tr.append(el('td', { cls: 'col-actions' }, [r.pause, r.resume, r.remove]));
  return r;
}

function updateRow(r, t) {
  setText(r.name, t.name || t.id);
  r.name.title = t.name || t.id;
  r.tr.dataset.state = t.state;
  r.err.hidden = !t.error;
  setText(r.err, t.error || '');
  setWidth(r.fill, t.progress);
  r.fill.dataset.state = t.state;
  r.bar.setAttribute('aria-valuenow', (Math.min(1, t.progress || 0) * 100).toFixed(1));
  setText(r.pct, fmtPct(t.progress));
  setText(r.state, t.state);
  r.state.dataset.state = t.state;
  setText(r.down, fmtRate(t.download_rate));
  setText(r.up, fmtRate(t.upload_rate));
  setText(r.peers, fmtPeers(t));
  const why = refusalText(t.refused_peers);
  if (r.peers.title !== why) r.peers.title = why;
  setText(r.ratio, Number.isFinite(t.ratio) ? t.ratio.toFixed(2) : '—');
  setText(r.eta, fmtEta(t));
  const paused = t.state === 'paused';
  r.pause.hidden = paused;
  r.resume.hidden = !paused;
}

function renderTorrents(list) {
  list.sort((a, b) => (a.added_unix - b.added_unix) || String(a.name).localeCompare(String(b.name)));
  const tbody = $('torrent-rows');
  const seen = new Set();
  list.forEach((t, i) => {
    if (!t || typeof t.id !== 'string') return;
    seen.add(t.id);
    let r = ui.rows.get(t.id);
    if (!r) {
      r = makeRow(t.id);
      ui.rows.set(t.id, r);
    }
    updateRow(r, t);
    if (tbody.children[i] !== r.tr) tbody.insertBefore(r.tr, tbody.children[i] || null);
  });
  for (const [id, r] of ui.rows) {
    if (!seen.has(id)) {
      r.tr.remove();
      ui.rows.delete(id);
    }
  }
  ui.torrents = new Map(list.map((t) => [t.id, t]));
  $('empty').hidden = list.length > 0;
  for (const [id, r] of ui.rows) r.tr.classList.toggle('selected', id === ui.detailId);
  if (ui.detailId) {
    const t = ui.torrents.get(ui.detailId);
    if (t) renderDetailSummary(t);
    else closeDetail();
  }
}

async function torrentAction(id, action, button) {
  button.disabled = true;
  try {
    await api('POST', `${tid(id)}/${action}`);
    refreshSoon();
  } catch (e) {
    showStatus(`${action}: ${errText(e)}`, 'error');
  } finally {
    button.disabled = false;
  }
}

function askRemove(id) {
  const t = ui.torrents.get(id);
  const dlg = $('remove-dialog');
  $('remove-name').textContent = t ? t.name : id;
  $('remove-delete-data').checked = false;
  dlg.returnValue = '';
  dlg.dataset.id = id;
  dlg.showModal();
}

async function onRemoveClosed() {
  const dlg = $('remove-dialog');
  const id = dlg.dataset.id;
  if (dlg.returnValue !== 'remove' || !id) return;
  const del = $('remove-delete-data').checked;
  try {
    await api('DELETE', `${tid(id)}?delete_data=${del ? 'true' : 'false'}`);
    if (ui.detailId === id) closeDetail();
    showStatus(del ? 'Removed, data deleted.' : 'Removed (data kept).');
    refreshSoon();
  } catch (e) {
    showStatus(`remove: ${errText(e)}`, 'error');
  }
}

// ---------------------------------------------------------------- adding

function selectTab(button) {
  for (const tab of document.querySelectorAll('.tab')) {
    const on = tab === button;
    tab.setAttribute('aria-selected', String(on));
    $(tab.dataset.panel).hidden = !on;
  }
}

function toBase64(bytes) {
  let bin = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK));
  }
  return btoa(bin);
}

async function addTorrent(body, form) {
  const buttons = form.querySelectorAll('button');
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const res = await api('POST', '/api/v1/torrents', body);
    form.reset();
    showAdded(res);
    refreshSoon();
  } catch (e) {
    showStatus(`add: ${errText(e)}`, 'error');
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

function showAdded(res) {
  if (!res) return;
  $('add-result').hidden = false;
  $('add-result-name').textContent = res.name || res.id;
  $('add-link').value = res.link || '';
  const img = $('add-qr');
  img.hidden = true;
  loadQr(img, res.id, 'add').catch((e) => showStatus(errText(e), 'error'));
}

async function copyFrom(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    showStatus('Link copied.');
  } catch {
    input.select();
    showStatus('Select and copy the link (clipboard not available).');
  }
}

// ---------------------------------------------------------------- detail view

function openDetail(id) {
  if (ui.detailId !== id) {
    closeDetail();
    ui.detailId = id;
    ui.filesDirty = false;
    ui.files = [];
    $('file-rows').replaceChildren();
    $('peer-rows').replaceChildren();
    $('tracker-rows').replaceChildren();
    $('detail-info').replaceChildren();
    $('detail-link').value = '';
    $('detail-qr').hidden = true;
    $('detail-error').hidden = true;
    updateFileButtons();
  }
  const t = ui.torrents.get(id);
  if (t) renderDetailSummary(t);
  $('detail').hidden = false;
  $('detail').dataset.id = id;
  for (const [rid, r] of ui.rows) r.tr.classList.toggle('selected', rid === id);
  loadDetail();
  clearInterval(ui.detailTimer);
  ui.detailTimer = setInterval(loadDetail, DETAIL_MS);
  $('detail').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

function closeDetail() {
  clearInterval(ui.detailTimer);
  ui.detailTimer = null;
  ui.detailId = null;
  ui.fileRows.clear();
  $('detail').hidden = true;
  delete $('detail').dataset.id;
  for (const r of ui.rows.values()) r.tr.classList.remove('selected');
}

async function loadDetail() {
  const id = ui.detailId;
  if (!id) return;
  let d;
  try {
    d = await api('GET', tid(id));
  } catch (e) {
    if (ui.detailId !== id) return;
    $('detail-error').textContent = errText(e);
    $('detail-error').hidden = false;
    return;
  }
  if (ui.detailId !== id) return;
  $('detail-error').hidden = true;
  // While checking, or before the metadata arrived, the daemon answers 409 for these.
  const busy = d.state === 'checking' || !d.num_pieces;
  const skip = Promise.reject(new HttpError(409, 'checking'));
  skip.catch(() => {});
  const [files, peers, trackers] = await Promise.allSettled([
    busy ? skip : api('GET', `${tid(id)}/files`),
    busy ? skip : api('GET', `${tid(id)}/peers`),
    busy ? skip : api('GET', `${tid(id)}/trackers`),
  ]);
  if (ui.detailId !== id) return;
  renderDetail(d);
  if (files.status === 'fulfilled' && Array.isArray(files.value)) renderFiles(files.value);
  else if (files.status === 'rejected') showNoFiles(files.reason);
  if (peers.status === 'fulfilled' && Array.isArray(peers.value)) renderPeers(peers.value);
  else if (busy) renderPeers([]);
  if (trackers.status === 'fulfilled' && Array.isArray(trackers.value)) renderTrackers(trackers.value);
  else if (busy) renderTrackers([]);
}

function renderDetailSummary(t) {
  setText($('detail-name'), t.name || t.id);
}

function renderDetail(d) {
  renderDetailSummary(d);
  const rows = [
    ['State', d.error ? `${d.state}: ${d.error}` : d.state],
    ['Progress', `${fmtPct(d.progress)} of ${fmtBytes(d.total_length)}`],
    ['Pieces', `${d.have_pieces} / ${d.num_pieces} × ${fmtBytes(d.piece_length)}`],
    ['Transferred', `↓ ${fmtBytes(d.downloaded)} · ↑ ${fmtBytes(d.uploaded)} · ratio ${Number(d.ratio).toFixed(2)}`],
    ['Info hash', d.info_hash],
    ['Saved in', d.download_dir],
    ['Added', d.added_unix ? new Date(d.added_unix * 1000).toLocaleString() : '—'],
    ['Options', [
      d.private ? 'private' : 'public',
      d.sequential ? 'sequential' : 'rarest first',
      d.queue_position !== null && d.queue_position !== undefined ? `queue #${d.queue_position}` : null,
    ].filter(Boolean).join(' · ')],
  ];
  const dl = $('detail-info');
  const items = [];
  for (const [k, v] of rows) {
    items.push(el('dt', { text: k }), el('dd', { text: v }));
  }
  dl.replaceChildren(...items);
  const link = $('detail-link');
  if (document.activeElement !== link && link.value !== (d.link || '')) link.value = d.link || '';
}

function renderFiles(files) {
  ui.files = files;
  const tbody = $('file-rows');
  const seen = new Set();
  files.forEach((f, i) => {
    seen.add(f.index);
    let r = ui.fileRows.get(f.index);
    if (!r) {
      r = {};
      r.check = el('input', { type: 'checkbox', testid: 'file-check' });
      r.check.dataset.index = String(f.index);
      r.check.addEventListener('change', onFileToggle);
      r.path = el('td', { cls: 'path' });
      r.size = el('td', { cls: 'num' });
      r.fill = el('div', { cls: 'fill' });
      r.pct = el('span', { cls: 'pct' });
      r.prio = el('td', { testid: 'file-priority' });
      r.tr = el('tr', { testid: 'file-row' }, [
        el('td', { cls: 'check-col' }, [r.check]),
        r.path,
        r.size,
        el('td', { cls: 'col-progress' }, [el('div', { cls: 'bar' }, [r.fill]), r.pct]),
        r.prio,
      ]);
      ui.fileRows.set(f.index, r);
    }
    setText(r.path, f.path);
    r.path.title = f.path;
    setText(r.size, fmtBytes(f.length));
    setWidth(r.fill, f.progress);
    setText(r.pct, fmtPct(f.progress));
    setText(r.prio, f.priority);
    r.tr.dataset.priority = f.priority;
    if (!ui.filesDirty) r.check.checked = f.priority !== 'skip';
    if (tbody.children[i] !== r.tr) tbody.insertBefore(r.tr, tbody.children[i] || null);
  });
  for (const [idx, r] of ui.fileRows) {
    if (!seen.has(idx)) {
      r.tr.remove();
      ui.fileRows.delete(idx);
    }
  }
  syncAllBox();
  const none = files.length === 0;
  setText($('files-empty'), 'No files.');
  $('files-empty').hidden = !none;
  $('files').hidden = none;
  $('files-actions').hidden = none;
}

function showNoFiles(reason) {
  const msg = reason instanceof HttpError && reason.status === 409
    ? 'Checking the data, or waiting for the metadata (file list) from peers…'
    : `Files: ${errText(reason)}`;
  setText($('files-empty'), msg);
  $('files-empty').hidden = false;
  $('files').hidden = true;
  $('files-actions').hidden = true;
}

function fileChanges() {
  const changes = [];
  for (const f of ui.files) {
    const r = ui.fileRows.get(f.index);
    if (!r) continue;
    const want = r.check.checked;
    if (want !== (f.priority !== 'skip')) {
      changes.push({ index: f.index, priority: want ? 'normal' : 'skip' });
    }
  }
  return changes;
}

function updateFileButtons() {
  const dirty = ui.filesDirty && fileChanges().length > 0;
  $('files-apply').disabled = !dirty;
  $('files-reset').disabled = !dirty;
}

function syncAllBox() {
  const boxes = [...ui.fileRows.values()].map((r) => r.check);
  const on = boxes.filter((b) => b.checked).length;
  const all = $('files-all');
  all.checked = boxes.length > 0 && on === boxes.length;
  all.indeterminate = on > 0 && on < boxes.length;
}

function onFileToggle() {
  ui.filesDirty = true;
  syncAllBox();
  updateFileButtons();
}

async function applyFiles() {
  const id = ui.detailId;
  const changes = fileChanges();
  if (!id || changes.length === 0) return;
  $('files-apply').disabled = true;
  try {
    const files = await api('PATCH', `${tid(id)}/files`, { priorities: changes });
    ui.filesDirty = false;
    if (Array.isArray(files) && ui.detailId === id) renderFiles(files);
    showStatus('File selection saved.');
  } catch (e) {
    showStatus(`files: ${errText(e)}`, 'error');
  }
  updateFileButtons();
}

function resetFiles() {
  ui.filesDirty = false;
  renderFiles(ui.files);
  updateFileButtons();
}

function peerFlags(p) {
  const f = [];
  f.push(p.outgoing ? 'out' : 'in');
  if (p.encrypted) f.push('encrypted');
  if (p.interested && !p.choked) f.push('downloading');
  else if (p.interested) f.push('interested, choked');
  if (p.peer_interested && !p.choking) f.push('uploading');
  else if (p.peer_interested) f.push('they want, choked');
  return f.join(' · ');
}

function renderPeers(peers) {
  peers.sort((a, b) => (b.download_rate + b.upload_rate) - (a.download_rate + a.upload_rate)
    || String(a.addr).localeCompare(String(b.addr)));
  const rows = peers.map((p) => {
    const tr = el('tr', { testid: 'peer-row' }, [
      el('td', { cls: 'mono', text: p.addr }),
      el('td', { text: p.client || '—' }),
      el('td', { cls: 'num', text: fmtRate(p.download_rate) }),
      el('td', { cls: 'num', text: fmtRate(p.upload_rate) }),
      el('td', { cls: 'small', text: peerFlags(p) }),
    ]);
    return tr;
  });
  $('peer-rows').replaceChildren(...rows);
  $('peers-empty').hidden = peers.length > 0;
  $('peers').hidden = peers.length === 0;
}

function renderTrackers(trackers) {
  const rows = trackers.map((t) => {
    const status = el('td', { text: t.status });
    if (t.last_error) status.append(el('div', { cls: 'error small', text: t.last_error }));
    return el('tr', { testid: 'tracker-row' }, [
      el('td', { cls: 'mono path', text: t.url }),
      el('td', { cls: 'num', text: t.tier }),
      status,
      el('td', { cls: 'num', text: t.peers }),
      el('td', { cls: 'num', text: t.next_announce_secs === null ? '—' : fmtDuration(t.next_announce_secs) }),
    ]);
  });
  $('tracker-rows').replaceChildren(...rows);
  $('trackers-empty').hidden = trackers.length > 0;
  $('trackers').hidden = trackers.length === 0;
}

// ---------------------------------------------------------------- limits

const KIB = 1024;

function openSettings() {
  const s = ui.session;
  const dlg = $('settings');
  $('limits-error').hidden = true;
  const rate = (v) => (v === null || v === undefined || v === 0 ? '' : String(Math.round(v / KIB)));
  if (s) {
    $('limit-down').value = rate(s.download_limit);
    $('limit-up').value = rate(s.upload_limit);
    $('limit-conns').value = String(s.max_connections);
    $('limit-peers').value = String(s.max_peers_per_torrent);
    $('limit-active-down').value = String(s.max_active_downloads);
    $('limit-active-seed').value = String(s.max_active_seeds);
  }
  dlg.showModal();
}

function readLimits() {
  const rate = (id) => {
    const v = $(id).value.trim();
    if (v === '' || Number(v) === 0) return null;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error('rates must be whole KiB/s');
    return n * KIB;
  };
  const count = (id, min) => {
    const n = Number($(id).value);
    if (!Number.isInteger(n) || n < min) throw new Error('counts must be whole numbers');
    return n;
  };
  return {
    download_limit: rate('limit-down'),
    upload_limit: rate('limit-up'),
    max_connections: count('limit-conns', 1),
    max_peers_per_torrent: count('limit-peers', 1),
    max_active_downloads: count('limit-active-down', 0),
    max_active_seeds: count('limit-active-seed', 0),
  };
}

async function saveLimits(ev) {
  ev.preventDefault();
  const err = $('limits-error');
  err.hidden = true;
  try {
    const s = await api('PATCH', '/api/v1/session', readLimits());
    if (s) renderSession(s);
    $('settings').close('saved');
    showStatus('Limits saved.');
  } catch (e) {
    err.textContent = errText(e);
    err.hidden = false;
  }
}

// ---------------------------------------------------------------- wiring

function wire() {
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token-input').value.trim();
    if (!t) return;
    $('token-input').value = '';
    connect(t);
  });
  $('logout').addEventListener('click', () => {
    ui.token = null;
    storeToken(null);
    showLogin('');
  });
  for (const tab of document.querySelectorAll('.tab')) {
    tab.addEventListener('click', () => selectTab(tab));
  }
  $('add-magnet').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const magnet = $('magnet-input').value.trim();
    if (magnet) addTorrent({ magnet }, ev.currentTarget);
  });
  $('add-file').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const file = $('torrent-file').files[0];
    if (!file) return;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      await addTorrent({ torrent: toBase64(bytes) }, form);
    } catch (e) {
      showStatus(`add: ${errText(e)}`, 'error');
    }
  });
  $('add-path').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const path = $('path-input').value.trim();
    if (path) addTorrent({ path, private: !$('path-public').checked }, ev.currentTarget);
  });
  $('add-link-copy').addEventListener('click', () => copyFrom($('add-link')));
  $('add-result-close').addEventListener('click', () => { $('add-result').hidden = true; });
  $('detail-link-copy').addEventListener('click', () => copyFrom($('detail-link')));
  $('detail-qr-btn').addEventListener('click', () => {
    if (ui.detailId) loadQr($('detail-qr'), ui.detailId, 'detail').catch((e) => showStatus(errText(e), 'error'));
  });
  $('detail-close').addEventListener('click', closeDetail);
  $('files-apply').addEventListener('click', applyFiles);
  $('files-reset').addEventListener('click', resetFiles);
  $('files-all').addEventListener('change', () => {
    const on = $('files-all').checked;
    for (const r of ui.fileRows.values()) r.check.checked = on;
    onFileToggle();
  });
  $('remove-dialog').addEventListener('close', onRemoveClosed);
  $('open-settings').addEventListener('click', openSettings);
  $('limits-form').addEventListener('submit', saveLimits);
  $('limits-cancel').addEventListener('click', () => $('settings').close('cancel'));
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && ui.detailId && !document.querySelector('dialog[open]')) closeDetail();
  });
}

function main() {
  wire();
  const t = tokenFromFragment() || storedToken();
  if (t) connect(t);
  else showLogin('');
}

main();
