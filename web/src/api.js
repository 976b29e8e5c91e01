// The HTTP API of `podpromo serve`, as the pages use it. Errors become ApiError with a sentence for people.

// The choices the API accepts, as the pages offer them.
export const PLATFORMS = ['tiktok', 'shorts', 'reels', 'linkedin', 'x'];
export const GENRES = ['auto', 'general', 'business', 'comedy', 'true_crime', 'education', 'health_wellness',
  'news_politics', 'sports'];

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// What a refusal means, in words, by the server's error code (its message adds the details).
const REASONS = {
  too_large: 'Too large',
  unsupported_media: 'Wrong type',
  unusable_media: 'Cannot be used',
  insufficient_storage: 'Storage full',
  queue_full: 'Queue full, try again in a minute',
  not_found: 'Not found',
  invalid_input: 'Not accepted',
  expired: 'Files removed by cleanup',
  no_file: 'No file sent',
  unauthenticated: 'Sign in first',
  insufficient_scope: 'Not allowed',
  csrf: 'Reload the page',
  rate_limited: 'Too many tries',
  wrong_password: 'Wrong password',
  name_taken: 'That name is taken',
};

// Who is signed in ({user, csrf_token, has_password, ...} from /api/v1/me), or null. Every change the app sends
// echoes the session's CSRF token; a 401 anywhere calls the handler set by onSignedOut.
export const session = { me: null };
let signedOut = () => {};
export function onSignedOut(handler) {
  signedOut = handler;
}
function csrfHeaders() {
  return session.me?.csrf_token ? { 'X-CSRF-Token': session.me.csrf_token } : {};
}

export function describeError(status, body) {
  const code = body?.error?.code || `http_${status}`;
  const message = body?.error?.message || '';
  const reason = REASONS[code] || (status >= 500 ? 'The server failed' : 'The request was refused');
  return new ApiError(status, code, message ? `${reason}: ${message}` : reason);
}

async function request(method, path, body) {
  const init = { method, headers: method === 'GET' ? {} : csrfHeaders() };
  if (body instanceof Blob) {
    // A file as the whole body (a show's logo), with its own type.
    init.headers['Content-Type'] = body.type || 'application/octet-stream';
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (res.status === 401 && path !== '/api/v1/session' && path !== '/api/v1/me/password') signedOut();
  if (!res.ok) throw describeError(res.status, data);
  return data;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body ?? {}),
  put: (path, body) => request('PUT', path, body ?? {}),
  patch: (path, body) => request('PATCH', path, body ?? {}),
  del: (path) => request('DELETE', path),
  // A text answer (the metrics exposition).
  text: async (path) => {
    const res = await fetch(path);
    if (res.status === 401) signedOut();
    if (!res.ok) throw describeError(res.status, null);
    return res.text();
  },
};

// Uploads one file as multipart with `fields`; onProgress(fraction) as it is sent. Resolves with the
// server's answer (episode and job) or rejects with an ApiError.
export function uploadEpisode(file, fields, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) if (v !== '' && v != null) form.append(k, v);
    form.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/episodes');
    for (const [k, v] of Object.entries(csrfHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      if (xhr.status === 401) signedOut();
      // 202: a new episode; 200: a re-sent upload, answered with the episode it already made.
      if (xhr.status === 202 || (xhr.status === 200 && data?.repeated)) resolve(data);
      else reject(describeError(xhr.status, data));
    };
    xhr.onerror = () => reject(new ApiError(0, 'network', 'The upload was interrupted'));
    xhr.send(form);
  });
}

// One shared server-sent event stream of job progress; listeners get {job_id, episode_id, state, stage,
// progress, error}. The browser reconnects by itself after a drop.
let source = null;
const listeners = new Set();
export function closeJobEvents() {
  source?.close();
  source = null;
}
export function onJobEvent(listener) {
  listeners.add(listener);
  if (!source) {
    source = new EventSource('/api/v1/events');
    source.addEventListener('job', (e) => {
      let data;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      for (const l of listeners) l(data);
    });
  }
  return () => listeners.delete(listener);
}

export function formatTime(s) {
  if (s == null || Number.isNaN(s)) return '–';
  const m = Math.floor(s / 60);
  const sec = s - m * 60;
  return `${m}:${sec.toFixed(1).padStart(4, '0')}`;
}

export function formatBytes(b) {
  if (b == null) return '–';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = b;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c != null) node.append(c instanceof Node ? c : document.createTextNode(c));
  return node;
}

export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const t = el('div', { class: `toast ${kind}` }, message);
  box.append(t);
  setTimeout(() => t.remove(), 6000);
}
