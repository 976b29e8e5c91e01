// The operator dashboard: health checks, the queue, storage by area, charts of the machine and the process
// (sampled from /metrics every 5 s while the page is open), the shows' feed reads, and the recent errors.
import { api, el, formatBytes } from './api.js';
import { pollWords, relative } from './shows.js';

// The shows' feeds (everyone's, for an administrator): when each was last read and what that found, and when the next
// read is.
function feedRows(shows) {
  if (!shows.length) return [el('tr', {}, el('td', { colspan: 3, class: 'muted' }, 'No shows followed.'))];
  return shows.map((s) => el('tr', { 'data-show': s.id, class: s.last_status === 'error' ? 'bad' : '' },
    el('td', {}, el('a', { href: '#/shows' }, s.title || s.feed_url)),
    el('td', {}, pollWords(s)),
    el('td', {}, s.auto_process ? relative(s.next_poll_at) : `${relative(s.next_poll_at)} (new episodes wait for a click)`)));
}

// The samples of a Prometheus text exposition: {"name{labels}": value}.
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out[line.slice(0, at)] = Number(line.slice(at + 1));
  }
  return out;
}

function sparkline(values, max, label) {
  const w = 240;
  const h = 56;
  if (values.length === 1) values = [values[0], values[0]]; // a flat line until the second sample
  const top = max || Math.max(1, ...values);
  const pts = values.map((v, i) => `${(i / Math.max(1, values.length - 1)) * w},${h - (v / top) * (h - 4) - 2}`);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.classList.add('spark');
  const poly = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  poly.setAttribute('points', pts.join(' '));
  svg.append(poly);
  return svg;
}

export function renderDashboard(root) {
  const health = el('div', { class: 'checks' });
  const queue = el('dl', { class: 'stats' });
  const storage = el('div', {});
  const charts = el('div', { class: 'charts' });
  const errors = el('tbody');
  const feeds = el('tbody');
  root.replaceChildren(
    el('h1', {}, 'Dashboard'),
    el('div', { class: 'grid' },
      el('section', { class: 'panel' }, el('h2', {}, 'Health'), health),
      el('section', { class: 'panel' }, el('h2', {}, 'Queue'), queue),
      el('section', { class: 'panel' }, el('h2', {}, 'Storage'), storage),
      el('section', { class: 'panel' }, el('h2', {}, 'System'), charts)),
    el('section', { class: 'panel' }, el('h2', {}, 'Feeds'),
      el('table', { class: 'feeds', 'data-testid': 'feeds' }, el('thead', {}, el('tr', {},
        ['Show', 'Last read', 'Next read'].map((h) => el('th', { scope: 'col' }, h)))), feeds)),
    el('section', { class: 'panel' }, el('h2', {}, 'Recent errors'),
      el('table', { class: 'errors' }, el('thead', {}, el('tr', {},
        ['Kind', 'Stage', 'Count', 'Last seen', 'Message'].map((h) => el('th', { scope: 'col' }, h)))), errors)));

  const history = { cpu: [], mem: [], rss: [], rps: [] };
  let lastRequests = null;

  async function refresh() {
    const [h, q, s, e, m, f] = await Promise.allSettled([
      fetch('/health').then((r) => r.json()), api.get('/queue/stats'), api.get('/storage/stats'),
      api.get('/api/v1/admin/errors'), api.text('/metrics'), api.get('/api/v1/shows')]);
    if (f.status === 'fulfilled') feeds.replaceChildren(...feedRows(f.value.shows));
    if (h.status === 'fulfilled') {
      health.replaceChildren(el('p', { class: `badge ${h.value.status}`, 'data-health': h.value.status }, h.value.status),
        el('ul', {}, Object.entries(h.value.checks).map(([name, c]) =>
          el('li', { class: c.ok ? 'ok' : 'bad' }, el('strong', {}, `${c.ok ? '✓' : '✗'} ${name}`), ` ${c.detail}`))));
    }
    if (q.status === 'fulfilled') {
      const v = q.value;
      queue.replaceChildren(...[['Queued', v.by_state?.queued ?? 0], ['Running', v.running],
        ['Workers', v.workers], ['Done last hour', v.throughput_per_hour], ['Average wait', `${v.avg_wait_s.toFixed(1)} s`],
        ['Average run', `${v.avg_run_s.toFixed(1)} s`]].flatMap(([k, x]) => [el('dt', {}, k), el('dd', {}, String(x))]));
    }
    if (s.status === 'fulfilled') {
      const v = s.value;
      const total = Math.max(1, v.quota_bytes);
      storage.replaceChildren(
        el('p', {}, `${formatBytes(v.used_bytes)} of ${formatBytes(v.quota_bytes)} quota · ${formatBytes(v.disk_free_bytes)} free on disk`),
        el('div', { class: 'bars' }, Object.entries(v.areas.bytes).map(([area, b]) => el('div', { class: 'bar' },
          el('span', {}, area), el('meter', { min: 0, max: total, value: b, 'aria-label': area }),
          el('span', { class: 'num' }, formatBytes(b))))),
        el('p', { class: 'muted' }, v.next_cleanup.bytes_freed != null
          ? `Next cleanup would free ${formatBytes(v.next_cleanup.bytes_freed)}` : ''));
    }
    if (e.status === 'fulfilled') {
      errors.replaceChildren(...(e.value.errors.length ? e.value.errors.map((g) => el('tr', {},
        el('td', {}, g.kind), el('td', {}, g.stage), el('td', {}, String(g.count)),
        el('td', {}, new Date(g.last_seen).toLocaleString()), el('td', { class: 'sample' }, g.sample)))
        : [el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No errors in the retention window.'))]));
    }
    if (m.status === 'fulfilled') {
      const v = parseMetrics(m.value);
      const push = (k, x) => {
        history[k].push(x);
        if (history[k].length > 60) history[k].shift();
      };
      push('cpu', (v['podpromo_system_cpu_utilization_ratio'] ?? 0) * 100);
      const memTotal = v['podpromo_system_memory_total_bytes'] ?? 0;
      push('mem', memTotal ? (1 - (v['podpromo_system_memory_available_bytes'] ?? 0) / memTotal) * 100 : 0);
      push('rss', (v['process_resident_memory_bytes'] ?? 0) / 1e6);
      const requests = Object.entries(v).filter(([k]) => k.startsWith('podpromo_http_requests_total'))
        .reduce((a, [, x]) => a + x, 0);
      push('rps', lastRequests == null ? 0 : Math.max(0, (requests - lastRequests) / 5));
      lastRequests = requests;
      const last = (k) => history[k][history[k].length - 1];
      charts.replaceChildren(
        el('figure', {}, sparkline(history.cpu, 100, 'CPU use'), el('figcaption', {}, `CPU ${last('cpu').toFixed(0)}%`)),
        el('figure', {}, sparkline(history.mem, 100, 'Memory use'), el('figcaption', {}, `Memory ${last('mem').toFixed(0)}%`)),
        el('figure', {}, sparkline(history.rss, 0, 'Server memory'), el('figcaption', {}, `Server ${last('rss').toFixed(0)} MB`)),
        el('figure', {}, sparkline(history.rps, 0, 'Requests per second'), el('figcaption', {}, `${last('rps').toFixed(1)} req/s`)));
    }
  }
  refresh();
  const timer = setInterval(refresh, 5000);
  return () => clearInterval(timer);
}
