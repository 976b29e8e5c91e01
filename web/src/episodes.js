// The episodes page: upload several files at once (drag and drop or the picker) with a progress bar each,
// and the list with live status over server-sent events, cancel and delete.
import { GENRES, PLATFORMS, api, el, formatTime, onJobEvent, toast, uploadEpisode } from './api.js';


export function select(name, values, value, label) {
  return el('label', { class: 'field' }, label,
    el('select', { name }, values.map((v) => el('option', { value: v, selected: v === value }, v.replace('_', ' ')))));
}

export function renderEpisodes(root) {
  const rows = new Map(); // episode id -> row element
  const jobs = new Map(); // episode id -> job id seen in events

  const input = el('input', { type: 'file', id: 'file-input', multiple: true, accept: 'audio/*,video/*',
    class: 'visually-hidden' });
  const drop = el('label', { class: 'drop', for: 'file-input', tabindex: '0', 'data-testid': 'drop' },
    el('strong', {}, 'Drop episodes here'), el('span', {}, 'or choose files (mp3, wav, m4a, mp4, mov…)'));
  const options = el('div', { class: 'options' },
    select('platform', PLATFORMS, 'tiktok', 'Platform'),
    select('genre', GENRES, 'auto', 'Genre'),
    el('label', { class: 'field' }, 'Clips', el('input', { type: 'number', name: 'clips', min: 1, max: 20, value: 5 })),
    el('label', { class: 'field' }, 'Priority',
      el('select', { name: 'priority' }, ['normal', 'high', 'low'].map((p) => el('option', { value: p }, p)))),
    // The vocabulary hint: names said in the show come out right. Remembered in this browser.
    el('label', { class: 'field wide' }, 'Show name',
      el('input', { type: 'text', name: 'show', maxlength: 200, value: localStorage.getItem('podpromo.show') || '',
        placeholder: 'e.g. The Ops Hour' })),
    el('label', { class: 'field wide' }, 'Names and terms',
      el('input', { type: 'text', name: 'terms', maxlength: 2000, value: localStorage.getItem('podpromo.terms') || '',
        placeholder: 'e.g. Siobhan Okonkwo, Kubernetes' })));
  const uploads = el('ul', { class: 'uploads', 'aria-label': 'Uploads' });
  const list = el('tbody');
  const empty = el('p', { class: 'muted' }, 'No episodes yet. Upload one above.');
  const table = el('table', { class: 'episodes' },
    el('thead', {}, el('tr', {}, ['Episode', 'Status', 'Length', 'Clips', ''].map((h) => el('th', { scope: 'col' }, h)))),
    list);

  root.replaceChildren(
    el('section', { class: 'panel' }, el('h1', {}, 'Upload'), drop, input, options, uploads),
    el('section', { class: 'panel' }, el('h2', {}, 'Episodes'), empty, table));

  const fields = () => {
    const f = Object.fromEntries(['platform', 'genre', 'clips', 'priority', 'show', 'terms']
      .map((n) => [n, options.querySelector(`[name=${n}]`).value.trim()]));
    localStorage.setItem('podpromo.show', f.show);
    localStorage.setItem('podpromo.terms', f.terms);
    return f;
  };

  function startUpload(file) {
    const bar = el('progress', { max: 1, value: 0, 'aria-label': `Upload of ${file.name}` });
    const status = el('span', { class: 'upload-status' }, 'sending…');
    const item = el('li', { class: 'upload' }, el('span', { class: 'name' }, file.name), bar, status);
    uploads.prepend(item);
    uploadEpisode(file, fields(), (f) => { bar.value = f; })
      .then((res) => {
        bar.value = 1;
        status.textContent = res.repeated ? 'already uploaded: the same episode' : 'uploaded, queued';
        item.classList.add('ok');
        jobs.set(res.episode.id, res.job.id);
        upsert(res.episode, res.job);
      })
      .catch((e) => {
        status.textContent = e.message;
        item.classList.add('refused');
        item.setAttribute('data-refused', e.code);
      });
  }
  function takeFiles(files) {
    for (const f of files) startUpload(f);
  }
  input.addEventListener('change', () => {
    takeFiles(input.files);
    input.value = '';
  });
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      input.click();
    }
  });
  for (const ev of ['dragenter', 'dragover']) {
    drop.addEventListener(ev, (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
  }
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    takeFiles(e.dataTransfer.files);
  });

  function statusCell(ep, event) {
    const state = event?.state === 'running' ? 'processing' : ep.status;
    const cell = el('td', { class: `status ${state}`, 'data-status': state });
    cell.append(el('span', { class: 'badge' }, state));
    if (event && event.state === 'running') {
      cell.append(el('progress', { max: 1, value: event.progress ?? 0, 'aria-label': 'Progress' }),
        el('span', { class: 'stage' }, `${event.stage} ${Math.round((event.progress ?? 0) * 100)}%`));
    }
    if (ep.status === 'failed' && ep.error) cell.append(el('span', { class: 'error' }, ep.error));
    return cell;
  }

  function upsert(ep, event) {
    empty.hidden = true;
    const active = ep.status === 'queued' || ep.status === 'processing' || event?.state === 'running';
    const row = el('tr', { 'data-episode': ep.id },
      el('td', {}, el('a', { href: `#/episodes/${ep.id}` }, ep.title || ep.filename)),
      statusCell(ep, event?.state ? event : null),
      el('td', {}, ep.duration ? formatTime(ep.duration) : '–'),
      // The clips there are (asked for: clips_requested; a short episode may have room for fewer).
      el('td', { 'data-clips': ep.clips_made ?? '' }, ep.clips_made != null ? String(ep.clips_made) : '–'),
      el('td', {}, el('div', { class: 'actions' },
        active ? el('button', { type: 'button', 'data-action': 'cancel', onclick: () => cancel(ep) }, 'Cancel') : null,
        el('button', { type: 'button', class: 'danger', 'data-action': 'delete', onclick: () => remove(ep) }, 'Delete'))));
    const old = rows.get(ep.id);
    if (old) old.replaceWith(row);
    else list.prepend(row);
    rows.set(ep.id, row);
  }

  async function cancel(ep) {
    try {
      let job = jobs.get(ep.id);
      if (!job) job = (await api.get(`/api/v1/episodes/${ep.id}`)).job?.id;
      await api.post(`/api/v1/jobs/${job}/cancel`);
      toast(`Cancelling “${ep.title}”`);
    } catch (e) {
      toast(e.message, 'error');
    }
  }
  async function remove(ep) {
    if (!window.confirm(`Delete “${ep.title}” with its clips?`)) return;
    try {
      await api.del(`/api/v1/episodes/${ep.id}`);
      rows.get(ep.id)?.remove();
      rows.delete(ep.id);
      empty.hidden = rows.size > 0;
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  // The list as the server has it (one request at a time; a request asked for meanwhile runs after it).
  let listing = null;
  let again = false;
  function refreshList() {
    if (listing) {
      again = true;
      return listing;
    }
    listing = api.get('/api/v1/episodes?limit=100').then((page) => {
      for (const ep of [...page.items].reverse()) if (!rows.has(ep.id)) upsert(ep);
      empty.hidden = rows.size > 0;
    }).catch((e) => toast(e.message, 'error')).finally(() => {
      listing = null;
      if (again) {
        again = false;
        refreshList();
      }
    });
    return listing;
  }

  const stop = onJobEvent(async (ev) => {
    if (!ev.episode_id) return;
    jobs.set(ev.episode_id, ev.job_id);
    const row = rows.get(ev.episode_id);
    // An episode this page does not show yet (uploaded elsewhere, or announced just before its row is
    // committed): the list brings it, and the next event finds its row.
    if (!row) {
      refreshList();
      return;
    }
    if (ev.state === 'running') {
      row.children[1].replaceWith(statusCell({ status: 'processing' }, ev));
      return;
    }
    // queued, succeeded, failed, cancelled: the episode's own record says the rest.
    try {
      const doc = await api.get(`/api/v1/episodes/${ev.episode_id}`);
      if (rows.has(ev.episode_id)) upsert({ ...doc.episode, clips_made: doc.clips.length });
    } catch {
      /* deleted meanwhile */
    }
  });

  refreshList();
  return stop;
}
