// The shows page: follow a podcast by its RSS feed, see what its feed lists and when it was last read, make clips
// of an episode with one click (new episodes are made by themselves), and take the show's soundbites back.
import { GENRES, PLATFORMS, api, el, onJobEvent, toast } from './api.js';
import { select } from './episodes.js';
import { lookPanel } from './look.js';

// "3 min ago", "in 58 min": when the feed was or will be read.
export function relative(ms, now = Date.now()) {
  if (!ms) return 'never';
  const minutes = Math.round((ms - now) / 60000);
  const span = Math.abs(minutes) < 60 ? `${Math.abs(minutes)} min` : `${Math.round(Math.abs(minutes) / 60)} h`;
  if (minutes === 0) return 'just now';
  return minutes < 0 ? `${span} ago` : `in ${span}`;
}

// What the last read of the feed found, in words.
export function pollWords(show) {
  if (show.last_status === 'error') return `Could not read the feed: ${show.last_error}`;
  const when = relative(show.last_polled_at);
  if (show.last_status === 'not_modified') return `Read ${when}: nothing new`;
  return `Read ${when}`;
}

function formatDuration(s) {
  if (!s) return '';
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return h ? `${h} h ${m} min` : `${m} min`;
}

function itemRow(show, item, refresh) {
  const badges = [];
  if (item.transcript_url) badges.push(el('span', { class: 'badge', title: 'Its own transcript is used: no recognition' }, 'transcript'));
  if (item.chapters_url) badges.push(el('span', { class: 'badge' }, 'chapters'));
  const people = item.persons.map((p) => p.name).join(', ');
  // (New, and not queued yet for lack of room: the next read of the feed tries again.)
  if (item.waiting) badges.push(el('span', { class: 'badge', title: 'The queue was full: the next read of the feed queues it' }, 'waiting for room'));
  let action;
  if (item.episode_id) {
    action = el('a', { href: `#/episodes/${item.episode_id}` }, 'Open clips');
  } else if (!item.enclosure_url) {
    action = el('span', { class: 'muted' }, 'no audio');
  } else {
    action = el('button', {
      type: 'button',
      'data-testid': 'make-clips',
      onclick: async (e) => {
        e.target.disabled = true;
        try {
          const res = await api.post(`/api/v1/shows/${show.id}/items/process`, { guid: item.guid });
          toast(`“${item.title}” is queued: it downloads, then its clips are found.`);
          window.location.hash = `#/episodes/${res.episode.id}`;
        } catch (err) {
          toast(err.message, 'error');
          e.target.disabled = false;
          refresh();
        }
      },
    }, 'Make clips');
  }
  const date = item.published_at ? new Date(item.published_at).toLocaleDateString() : '';
  return el('tr', { 'data-guid': item.guid },
    el('td', { class: 'title-cell' }, el('span', { class: 'name' }, item.title), ' ', badges,
      people ? el('div', { class: 'hint' }, people) : null),
    el('td', {}, date), el('td', {}, formatDuration(item.duration)), el('td', {}, action));
}

function showPanel(bundle, refresh, look) {
  const { show, items } = bundle;
  const status = el('p', { class: show.last_status === 'error' ? 'poll error' : 'poll', 'data-testid': 'poll' },
    pollWords(show), show.auto_process ? ' · new episodes are made by themselves' : '',
    ` · next read ${relative(show.next_poll_at)}`);
  const readNow = el('button', {
    type: 'button',
    onclick: async () => {
      try {
        const r = await api.post(`/api/v1/shows/${show.id}/poll`);
        toast(r.new_items ? `${r.new_items} new episode(s)` : 'Nothing new in the feed');
      } catch (err) {
        toast(err.message, 'error');
      }
      refresh();
    },
  }, 'Read the feed now');
  const stop = el('button', {
    type: 'button',
    class: 'danger',
    onclick: async () => {
      if (!window.confirm(`Stop following “${show.title}”? Its episodes and clips stay.`)) return;
      await api.del(`/api/v1/shows/${show.id}`).catch((err) => toast(err.message, 'error'));
      refresh();
    },
  }, 'Stop following');
  const soundbites = el('a', { href: `/api/v1/shows/${show.id}/soundbites`, download: `${show.title} soundbites.xml` },
    'Soundbites for the feed (XML)');
  const table = el('table', { class: 'items' },
    el('thead', {}, el('tr', {}, ['Episode', 'Published', 'Length', ''].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, items.map((i) => itemRow(show, i, refresh))));
  return el('section', { class: 'panel show', 'data-show': show.id },
    el('h2', {}, show.title || show.feed_url), el('p', { class: 'hint feed-url' }, show.feed_url), status,
    el('div', { class: 'actions' }, readNow, soundbites, stop), look,
    el('div', { class: 'scroll' }, table),
    bundle.item_count > items.length ? el('p', { class: 'hint' }, `The newest ${items.length} of ${bundle.item_count}.`) : null);
}

export function renderShows(root) {
  const form = el('form', { class: 'follow', 'data-testid': 'follow' },
    el('label', { class: 'field wide' }, 'Feed address',
      el('input', { type: 'url', name: 'feed_url', required: true, maxlength: 2000,
        placeholder: 'https://feeds.example.com/yourshow.xml' })),
    el('div', { class: 'options' },
      select('platform', PLATFORMS, 'tiktok', 'Platform'),
      select('genre', GENRES, 'auto', 'Genre'),
      el('label', { class: 'field' }, 'Clips', el('input', { type: 'number', name: 'clips', min: 1, max: 20, value: 5 })),
      el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'auto_process', checked: true }),
        ' Make clips of new episodes by themselves')),
    el('button', { type: 'submit' }, 'Follow the show'));
  const list = el('div', { class: 'shows' });
  root.replaceChildren(
    el('section', { class: 'panel' }, el('h1', {}, 'Shows'),
      el('p', { class: 'hint' }, 'Follow your podcast by its RSS feed. Its episodes are listed here; when the feed has its own transcript, PodPromo uses it instead of recognising the audio.'),
      form),
    list);

  let alive = true;
  // Each show's look panel is made once and kept across refreshes: a look being chosen is not lost to a refresh.
  const looks = new Map();
  async function refresh() {
    try {
      const { shows } = await api.get('/api/v1/shows');
      const bundles = await Promise.all(shows.map((s) => api.get(`/api/v1/shows/${s.id}?limit=50`)));
      if (!alive) return;
      for (const b of bundles) {
        if (!looks.has(b.show.id)) looks.set(b.show.id, lookPanel(b.show));
        looks.get(b.show.id).querySelector('form').findSample(b.items);
      }
      list.replaceChildren(...(bundles.length ? bundles.map((b) => showPanel(b, refresh, looks.get(b.show.id)))
        : [el('p', { class: 'muted panel' }, 'No shows yet. Add your feed above.')]));
    } catch (err) {
      toast(err.message, 'error');
    }
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    const v = (n) => form.querySelector(`[name=${n}]`);
    try {
      await api.post('/api/v1/shows', {
        feed_url: v('feed_url').value.trim(), platform: v('platform').value, genre: v('genre').value,
        clips: v('clips').value, auto_process: v('auto_process').checked,
      });
      v('feed_url').value = '';
      await refresh();
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      button.disabled = false;
    }
  });
  // A job's end may be a new episode of a followed show: its row then links to its clips.
  const stop = onJobEvent((ev) => {
    if (ev.state === 'queued' || ev.state === 'succeeded') refresh();
  });
  const timer = setInterval(refresh, 30000);
  refresh();
  return () => {
    alive = false;
    stop();
    clearInterval(timer);
  };
}
