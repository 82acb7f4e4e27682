// Media in the conversation (R22, SPEC 8.2): image thumbnails that open large, video and
// audio players, document chips, stickers; pending and failed states; and the upload of an
// agent's attachment with its progress. Files are fetched with the bearer token (an
// <img src> cannot send it) and shown from object URLs, kept while their conversation is.

import { h, replace, icon, bytes, session, toast } from '../common.js';

/** Meta's rules per kind (SPEC 8.2): which types, how large, whether a caption goes along. */
export const MEDIA_RULES = {
  image: { types: ['image/jpeg', 'image/png'], limit: 5 * 1024 * 1024, caption: true, noun: 'image', names: 'JPEG or PNG images' },
  video: { types: ['video/mp4', 'video/3gpp'], limit: 16 * 1024 * 1024, caption: true, noun: 'video', names: 'MP4 or 3GPP videos' },
  audio: {
    types: ['audio/aac', 'audio/x-aac', 'audio/amr', 'audio/mpeg', 'audio/mp3', 'audio/mp4', 'audio/x-m4a', 'audio/m4a', 'audio/ogg'],
    limit: 16 * 1024 * 1024, caption: false, noun: 'audio file', names: 'AAC, AMR, MP3, M4A or OGG audio',
  },
  sticker: { types: ['image/webp'], limit: 500 * 1024, caption: false, noun: 'sticker', names: 'WebP stickers' },
  document: { types: [], limit: 100 * 1024 * 1024, caption: true, noun: 'document', names: 'documents' },
};

const EXTENSIONS = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', mp4: 'video/mp4',
  '3gp': 'video/3gpp', '3gpp': 'video/3gpp', aac: 'audio/aac', amr: 'audio/amr', mp3: 'audio/mpeg',
  m4a: 'audio/mp4', ogg: 'audio/ogg', opus: 'audio/ogg',
};

/** What the file picker offers first (the agent can still choose any file). */
export const ACCEPT = [
  ...new Set(Object.values(MEDIA_RULES).flatMap((r) => r.types)),
  'application/pdf', '.doc', '.docx', '.xls', '.xlsx', '.ppt', '.pptx', '.txt', '.csv',
].join(',');

/** A caption longer than this is refused by WhatsApp. */
export const MAX_CAPTION_CHARS = 1024;

const NOUN = { image: 'image', video: 'video', audio: 'audio message', sticker: 'sticker', document: 'document' };

function extOf(name) {
  const m = /\.([a-z0-9]+)$/i.exec(name || '');
  return m ? m[1].toLowerCase() : '';
}

/** The kind a file is sent as: by its type, else its extension; anything else is a document. */
export function classify(file) {
  const type = (file.type || EXTENSIONS[extOf(file.name)] || '').toLowerCase();
  for (const kind of ['image', 'video', 'audio', 'sticker']) {
    if (MEDIA_RULES[kind].types.includes(type)) return { kind, type, ...MEDIA_RULES[kind] };
  }
  return { kind: 'document', type, ...MEDIA_RULES.document };
}

/** Refuses what WhatsApp would refuse anyway, before a byte is sent; null when it may go. */
export function precheck(file, rule) {
  if (!file.size) return `${file.name || 'The file'} is empty.`;
  if (file.size > rule.limit) {
    return `${file.name} is too large (${bytes(file.size)}): WhatsApp takes ${rule.names} up to ${bytes(rule.limit)}.`;
  }
  return null;
}

// ---------------------------------------------------------------- fetching with the token

const cache = new Map(); // media id -> {promise, url, iid}

/** Where the file is: the server's `url` when it is one of ours, else the media endpoint. */
function mediaPath(md) {
  return typeof md.url === 'string' && /^\/api\/v1\/media\//.test(md.url) ? md.url : `/api/v1/media/${encodeURIComponent(md.id)}`;
}

/** The file as an object URL (fetched once per media id with the bearer token). */
export function loadMedia(md, iid = null) {
  const hit = cache.get(md.id);
  if (hit) return hit.promise;
  const entry = { url: null, iid };
  entry.promise = (async () => {
    const s = session();
    let res;
    try {
      res = await fetch(mediaPath(md), { headers: s ? { Authorization: `Bearer ${s.token}` } : {} });
    } catch {
      throw new Error('the server cannot be reached');
    }
    if (!res.ok) {
      let message = '';
      try { message = (await res.json()).error.message; } catch { message = ''; }
      if (res.status === 401) message = 'your session has ended';
      throw new Error(message || `the server answered ${res.status}`);
    }
    const blob = await res.blob();
    entry.url = URL.createObjectURL(blob);
    return entry.url;
  })();
  entry.promise.catch(() => { if (cache.get(md.id) === entry) cache.delete(md.id); });
  cache.set(md.id, entry);
  return entry.promise;
}

/** The conversation left the desk: its files go. */
export function forgetMedia(iid) {
  for (const [id, entry] of cache) {
    if (entry.iid !== iid) continue;
    if (entry.url) URL.revokeObjectURL(entry.url);
    cache.delete(id);
  }
}

// Files are fetched when their bubble scrolls into view, not for the whole transcript at once.
const pending = new WeakMap();
const observer = 'IntersectionObserver' in window
  ? new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      observer.unobserve(e.target);
      const start = pending.get(e.target);
      pending.delete(e.target);
      if (start) start();
    }
  }, { rootMargin: '200px' })
  : null;

function whenVisible(el, start) {
  if (!observer) { start(); return; }
  pending.set(el, start);
  observer.observe(el);
}

function saveAs(url, filename) {
  const a = h('a', { href: url, download: filename || 'download' });
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

function typeLabel(md) {
  const mime = (md.mime_type || '').toLowerCase();
  if (mime === 'application/pdf') return 'PDF';
  const ext = extOf(md.filename);
  if (ext) return ext.toUpperCase();
  return mime ? mime.split('/').pop().toUpperCase() : 'File';
}

function fileName(md, kind) {
  if (md.filename) return md.filename;
  const ext = ({ 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'video/mp4': 'mp4', 'audio/ogg': 'ogg', 'audio/mpeg': 'mp3', 'application/pdf': 'pdf' })[md.mime_type] || 'bin';
  return `${kind || 'file'}-${md.id}.${ext}`;
}

// ---------------------------------------------------------------- in a bubble

/**
 * The media part of a message's bubble, or null when the message has none. `iid` ties the
 * fetched file to its conversation.
 */
export function mediaEl(m, iid) {
  const md = m.media;
  if (!md) return null;
  const kind = m.kind in NOUN ? m.kind : 'document';
  const noun = NOUN[kind];
  const name = fileName(md, kind);
  const facts = [md.filename, md.size ? bytes(md.size) : null].filter(Boolean).join(' · ');
  if (md.state === 'pending') {
    return h('div', { class: 'media media-state pending', dataset: { mediaState: 'pending', kind }, role: 'status' },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }),
      h('span', { text: m.direction === 'in' ? `Receiving the ${noun} from WhatsApp…` : `Preparing the ${noun}…` }),
      facts ? h('span', { class: 'facts', text: facts }) : null);
  }
  if (md.state === 'failed') {
    return h('div', { class: 'media media-state failed', dataset: { mediaState: 'failed', kind } },
      icon(kind === 'document' ? 'document' : kind, 16),
      h('span', { text: `The ${noun} could not be ${m.direction === 'in' ? 'received' : 'sent'}: ${md.error || 'no reason was given'}.` }),
      facts ? h('span', { class: 'facts', text: facts }) : null);
  }
  const box = h('div', { class: `media media-${kind}`, dataset: { mediaState: 'ready', kind, mediaId: md.id } });
  const show = () => replace(box, readyEl(m, md, kind, noun, name, iid, box, show));
  show();
  return box;
}

function failedLoad(box, noun, err, retry) {
  replace(box, h('div', { class: 'media-state failed', dataset: { mediaState: 'unloaded' } },
    h('span', { text: `Could not load the ${noun}: ${err.message}.` }),
    h('button', { class: 'btn small', type: 'button', text: 'Try again', on: { click: retry } })));
}

function readyEl(m, md, kind, noun, name, iid, box, again) {
  const fetchInto = (el, apply) => {
    // A file already here is shown at once (a bubble rebuilt for a new status does not blink).
    const hit = cache.get(md.id);
    if (hit && hit.url) { apply(hit.url); return; }
    whenVisible(el, () => loadMedia(md, iid).then(apply, (err) => failedLoad(box, noun, err, again)));
  };
  if (kind === 'image') {
    const img = h('img', { alt: '', decoding: 'async' });
    const who = m.direction === 'in' ? 'the customer\u2019s' : 'the';
    const btn = h('button', {
      type: 'button', class: 'media-thumb loading',
      'aria-label': `Open ${who} image${md.filename ? ` ${md.filename}` : ''} large`,
      on: { click: () => openLightbox(md, iid, name, btn) },
    }, img);
    img.addEventListener('load', () => btn.classList.remove('loading'));
    fetchInto(btn, (url) => { img.src = url; });
    return btn;
  }
  if (kind === 'sticker') {
    const img = h('img', { class: 'sticker-img', alt: 'Sticker' });
    fetchInto(img, (url) => { img.src = url; });
    return img;
  }
  if (kind === 'video' || kind === 'audio') {
    const player = h(kind, {
      controls: true, preload: 'metadata', class: `media-${kind}-player`,
      'aria-label': `${kind === 'video' ? 'Video' : 'Audio message'}${md.filename ? `: ${md.filename}` : ''}`,
    });
    fetchInto(player, (url) => { player.src = url; });
    return player;
  }
  const size = md.size ? bytes(md.size) : '';
  const a = h('a', {
    class: 'doc-chip', href: mediaPath(md), download: name,
    'aria-label': `Download ${name}${[typeLabel(md), size].filter(Boolean).map((x) => `, ${x}`).join('')}`,
  },
  h('span', { class: 'doc-icon', 'aria-hidden': 'true' }, icon('document', 20)),
  h('span', { class: 'doc-meta' },
    h('span', { class: 'doc-name', text: name }),
    h('span', { class: 'doc-sub', text: [typeLabel(md), size].filter(Boolean).join(' · ') })),
  h('span', { class: 'doc-dl', 'aria-hidden': 'true' }, icon('download', 16)));
  a.addEventListener('click', async (e) => {
    e.preventDefault();
    try {
      saveAs(await loadMedia(md, iid), name);
    } catch (err) {
      toast(`Could not download ${name}: ${err.message}.`, 'error');
    }
  });
  return a;
}

// ---------------------------------------------------------------- the lightbox

/** The image large, over the desk; Esc, the close button or a click beside it closes. */
export function openLightbox(md, iid, name, opener) {
  const img = h('img', { alt: md.caption || md.filename || 'Image' });
  const download = h('a', { class: 'btn small', download: name, 'aria-label': `Download ${name}` }, icon('download', 14), 'Download');
  const close = h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close the image' }, icon('close', 16));
  const titleId = `lightbox-title-${md.id}`;
  const dlg = h('dialog', { class: 'lightbox', id: 'lightbox', 'aria-labelledby': titleId },
    h('div', { class: 'lb-head' },
      h('span', { class: 'lb-title', id: titleId, text: md.filename || 'Image' }),
      md.size ? h('span', { class: 'muted small', text: bytes(md.size) }) : null,
      h('span', { class: 'spacer' }), download, close),
    h('div', { class: 'lb-body' }, img),
    md.caption ? h('p', { class: 'lb-caption', text: md.caption }) : null);
  close.addEventListener('click', () => dlg.close());
  dlg.addEventListener('click', (e) => { if (e.target === dlg) dlg.close(); });
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.appendChild(dlg);
  dlg.showModal();
  close.focus();
  loadMedia(md, iid).then((url) => { img.src = url; download.href = url; }, (err) => {
    replace(dlg.querySelector('.lb-body'), h('p', { class: 'error-text', text: `Could not load the image: ${err.message}.` }));
  });
}

// ---------------------------------------------------------------- upload

/** Why an attachment was refused, in words an agent can act on. */
export function uploadError(file, rule, status, code, message) {
  if (status === 0) return 'The upload did not reach the server: check the connection and try again.';
  if (status === 413 || code === 'payload_too_large') {
    return `${file.name} is too large for WhatsApp: ${rule.names} can be at most ${bytes(rule.limit)}.`;
  }
  if (status === 415 || code === 'unsupported_media_type') {
    return `WhatsApp does not take this type of file (${rule.type || extOf(file.name) || 'unknown type'}). You can send JPEG or PNG images, MP4 or 3GPP videos, AAC, AMR, MP3, M4A or OGG audio, WebP stickers and documents.`;
  }
  if ((status === 404 && (!message || /no such page/i.test(message))) || status === 405) {
    return 'This server does not take attachments (yet): the file was not sent.';
  }
  return message || `The server answered ${status}.`;
}

/**
 * POSTs one file (multipart `file`, optional `caption`) to the conversation's attachments.
 * Resolves with the queued message (202); rejects with {status, code, message}.
 * `onProgress(loaded, total)` follows the upload.
 */
export function postAttachment(interactionId, file, caption, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', `/api/v1/interactions/${encodeURIComponent(interactionId)}/attachments`);
    const s = session();
    if (s) xhr.setRequestHeader('Authorization', `Bearer ${s.token}`);
    xhr.responseType = 'text';
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size));
    // All of it is sent (some browsers skip the last progress event): waiting for the answer.
    xhr.upload.addEventListener('load', () => onProgress(file.size, file.size));
    xhr.addEventListener('load', () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText || 'null'); } catch { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) { resolve(data && data.message ? data.message : data); return; }
      const err = (data && data.error) || {};
      reject({ status: xhr.status, code: err.code || `http_${xhr.status}`, message: err.message || '' });
    });
    xhr.addEventListener('error', () => reject({ status: 0, code: 'network', message: '' }));
    xhr.addEventListener('abort', () => reject({ status: -1, code: 'aborted', message: 'Cancelled.' }));
    const form = new FormData();
    form.append('file', file, file.name || 'file');
    if (caption) form.append('caption', caption);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
