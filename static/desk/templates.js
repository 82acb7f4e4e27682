// WhatsApp message templates (R23), shared by the agent desktop and the admin pages: the
// template picker (search, the channel's templates with their status, the parameters as
// labelled fields with Meta's examples as placeholders, a live preview of what the customer
// will see), the "Send template" dialog of a conversation whose 24-hour window is closed, and
// the "New conversation" dialog (POST /api/v1/conversations). Only common.js is imported, so
// that admin.js can use this module without the desk's socket.

import { h, replace, api, icon, modal } from '../common.js';

/** Meta's template statuses and the colour of their chip. */
const STATUS_COLOUR = {
  APPROVED: 'green',
  PENDING: 'amber',
  IN_APPEAL: 'amber',
  PENDING_DELETION: 'amber',
  PAUSED: 'amber',
  LIMIT_EXCEEDED: 'amber',
  REJECTED: 'red',
  DISABLED: 'red',
  DELETED: 'red',
  ARCHIVED: '',
};

const STATUS_HELP = {
  PENDING: 'Meta is still reviewing it.',
  IN_APPEAL: 'Its rejection is under appeal.',
  PAUSED: 'Meta paused it after negative feedback from customers.',
  DISABLED: 'Meta disabled it.',
  REJECTED: 'Meta rejected it.',
  LIMIT_EXCEEDED: 'The account has too many templates.',
};

/** "APPROVED" → "Approved", "IN_APPEAL" → "In appeal". */
export function statusLabel(status) {
  const s = String(status || 'UNKNOWN').toLowerCase().replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The status as a coloured chip (data-status carries Meta's value). */
export function statusChip(status) {
  const st = String(status || 'UNKNOWN').toUpperCase();
  return h('span', { class: `chip tpl-status ${STATUS_COLOUR[st] ?? ''}`.trim(), dataset: { status: st }, text: statusLabel(st) });
}

export function isApproved(t) {
  return String(t.status || '').toUpperCase() === 'APPROVED';
}

/** Why a template cannot be sent, in a sentence (null when it can). */
export function whyNotSendable(t) {
  if (isApproved(t)) return null;
  const st = String(t.status || '').toUpperCase();
  const base = STATUS_HELP[st] || `Its status is ${statusLabel(st)}.`;
  return t.rejected_reason ? `${base} Reason: ${humanReason(t.rejected_reason)}.` : base;
}

/** Meta's reasons are codes like INVALID_FORMAT: shown as words. */
export function humanReason(reason) {
  const r = String(reason || '');
  if (/^[A-Z0-9_]+$/.test(r)) return r.toLowerCase().replace(/_/g, ' ');
  return r;
}

/** GET /api/v1/channels/{id}/templates with the signed-in user's token. */
export async function loadTemplates(channelId) {
  const r = await api('GET', `/api/v1/channels/${encodeURIComponent(channelId)}/templates`);
  const items = Array.isArray(r) ? r : (r && r.items) || [];
  return items;
}

function templateKey(t) { return `${t.name}\u0000${t.language}`; }

// ---------------------------------------------------------------- parameters

const BUTTON_KIND = {
  url: 'end of the link',
  copy_code: 'coupon code',
  quick_reply: 'reply payload',
  flow: 'flow token',
  catalog: 'catalogue item',
};

/**
 * The fields a send of `t` needs, in order: header, body, buttons (from the server's
 * `parameters`, with Meta's examples).
 */
export function paramFields(t) {
  const p = t.parameters || {};
  const fields = [];
  (p.header || []).forEach((x, i) => {
    const format = x.format || 'text';
    const ph = x.name ? `{{${x.name}}}` : `{{${i + 1}}}`;
    fields.push({
      part: 'header', i, name: x.name || null, example: x.example ?? '', format,
      placeholder: ph,
      label: format === 'text' ? (x.name || ph) : `${format.charAt(0).toUpperCase()}${format.slice(1)} link`,
      type: format === 'text' ? 'text' : 'url',
    });
  });
  (p.body || []).forEach((x, i) => {
    const ph = x.name ? `{{${x.name}}}` : `{{${i + 1}}}`;
    fields.push({ part: 'body', i, name: x.name || null, example: x.example ?? '', placeholder: ph, label: x.name ? x.name : ph, type: 'text' });
  });
  const comp = (t.components || []).find((c) => String(c.type).toUpperCase() === 'BUTTONS');
  (p.buttons || []).forEach((x, i) => {
    const kind = BUTTON_KIND[x.sub_type] || String(x.sub_type || 'button').replace(/_/g, ' ');
    fields.push({
      part: 'buttons', i, index: x.index ?? i, name: null, example: urlSuffix(comp, x) ?? '', sub_type: x.sub_type,
      label: x.text ? `${x.text} (${kind})` : `Button ${(x.index ?? i) + 1} (${kind})`, type: 'text',
    });
  });
  return fields;
}

/**
 * Meta's example of a URL button is the whole link (https://shop.example.com/track/12345),
 * while the send takes only what replaces {{1}}: the example shown is that part.
 */
function urlSuffix(comp, slot) {
  const ex = slot.example;
  if (slot.sub_type !== 'url' || typeof ex !== 'string') return ex;
  const def = comp && (comp.buttons || [])[slot.index ?? -1];
  const url = def && typeof def.url === 'string' ? def.url : '';
  const at = url.indexOf('{{');
  if (at > 0 && ex.startsWith(url.slice(0, at)) && ex.length > at) return ex.slice(at);
  return ex;
}

/** The `parameters` of `send_template` / `POST /api/v1/conversations` from the filled fields. */
export function parametersFrom(t, fields, values) {
  const of = (part) => fields.filter((f) => f.part === part);
  const out = {};
  const header = of('header').map((f) => values.get(fieldKey(f)).trim());
  if (header.length) out.header = header;
  const body = of('body');
  if (body.length) {
    if (String(t.parameter_format || '').toUpperCase() === 'NAMED' && body.every((f) => f.name)) {
      out.body = Object.fromEntries(body.map((f) => [f.name, values.get(fieldKey(f)).trim()]));
    } else {
      out.body = body.map((f) => values.get(fieldKey(f)).trim());
    }
  }
  const buttons = of('buttons').map((f) => values.get(fieldKey(f)).trim());
  if (buttons.length) out.buttons = buttons;
  return out;
}

function fieldKey(f) { return `${f.part}:${f.i}`; }

/** Meta refuses a parameter longer than 1024 characters, or with more than 4 spaces in a row. */
export function valueProblem(v) {
  if (Array.from(v).length > 1024) return 'At most 1024 characters.';
  if (/\s{5,}/.test(v) || /[\n\r\t]/.test(v)) return 'WhatsApp refuses new lines, tabs and more than 4 spaces in a row.';
  return null;
}

// ---------------------------------------------------------------- preview

/**
 * `text` with its placeholders replaced: filled values highlighted, missing ones shown as
 * `{{1}}` in a dashed box. `lookup(token)` gives the value for "1" or "first_name".
 */
function fill(text, lookup) {
  const out = [];
  const re = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
  let last = 0;
  let m;
  const s = String(text || '');
  while ((m = re.exec(s))) {
    if (m.index > last) out.push(s.slice(last, m.index));
    const v = lookup(m[1]);
    out.push(v ? h('span', { class: 'ph-val', text: v }) : h('span', { class: 'ph-missing', text: `{{${m[1]}}}` }));
    last = m.index + m[0].length;
  }
  if (last < s.length) out.push(s.slice(last));
  return out;
}

/** The plain text of `text` with the values put in (missing ones left as placeholders). */
function fillText(text, lookup) {
  return String(text || '').replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (all, k) => lookup(k) || `{{${k}}}`);
}

function lookupFor(fields, values, part) {
  const mine = fields.filter((f) => f.part === part);
  return (token) => {
    const f = /^\d+$/.test(token) ? mine.find((x) => !x.name && x.i === Number(token) - 1) || mine[Number(token) - 1]
      : mine.find((x) => x.name === token);
    return f ? (values.get(fieldKey(f)) || '').trim() : '';
  };
}

/** The button labels of the preview, with their kind when Meta's components tell it. */
function previewButtons(t) {
  const labels = (t.preview && t.preview.buttons) || [];
  const comp = (t.components || []).find((c) => String(c.type).toUpperCase() === 'BUTTONS');
  const defs = (comp && comp.buttons) || [];
  return labels.map((label, i) => {
    const d = defs[i] || {};
    const type = String(d.type || '').toUpperCase();
    return { label: typeof label === 'string' ? label : (label && label.text) || '', type };
  });
}

/** The message as the customer's phone shows it. */
export function previewBubble(t, fields = [], values = new Map()) {
  const pv = t.preview || {};
  const headerField = fields.find((f) => f.part === 'header');
  const headerMedia = headerField && headerField.format !== 'text' ? headerField.format : null;
  const headerComp = (t.components || []).find((c) => String(c.type).toUpperCase() === 'HEADER');
  const mediaFormat = headerMedia || (headerComp && ['IMAGE', 'VIDEO', 'DOCUMENT'].includes(String(headerComp.format).toUpperCase()) ? String(headerComp.format).toLowerCase() : null);
  const buttons = previewButtons(t);
  const now = new Date();
  return h('div', { class: 'tpl-bubble', 'aria-label': 'What the customer will see' },
    mediaFormat ? h('div', { class: 'tpl-media', dataset: { format: mediaFormat } },
      icon(mediaFormat === 'document' ? 'document' : mediaFormat, 22), h('span', { text: mediaFormat.charAt(0).toUpperCase() + mediaFormat.slice(1) })) : null,
    !mediaFormat && pv.header ? h('div', { class: 'tpl-header' }, fill(pv.header, lookupFor(fields, values, 'header'))) : null,
    pv.body ? h('div', { class: 'tpl-body' }, fill(pv.body, lookupFor(fields, values, 'body'))) : null,
    pv.footer ? h('div', { class: 'tpl-footer', text: pv.footer }) : null,
    h('div', { class: 'tpl-time', text: now.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) }),
    buttons.length ? h('div', { class: 'tpl-buttons' }, buttons.map((b) => h('div', { class: 'tpl-button', dataset: { type: b.type || 'QUICK_REPLY' } },
      b.type === 'URL' ? icon('external', 14) : b.type === 'PHONE_NUMBER' ? icon('phone', 14) : b.type === 'COPY_CODE' ? icon('copy', 14) : icon('reply', 14),
      h('span', { text: b.label })))) : null);
}

/** The text the customer will get, one block per line (for an accessible summary). */
export function previewText(t, fields, values) {
  const pv = t.preview || {};
  return [
    pv.header ? fillText(pv.header, lookupFor(fields, values, 'header')) : null,
    pv.body ? fillText(pv.body, lookupFor(fields, values, 'body')) : null,
    pv.footer || null,
    ...previewButtons(t).map((b) => b.label),
  ].filter(Boolean).join('\n');
}

// ---------------------------------------------------------------- the picker

/**
 * The template picker: a search field, the channel's templates (those that cannot be sent
 * greyed out with their status and reason, hidden until the agent asks for them), the
 * chosen template's parameters and the live preview. `onChange()` runs after every change.
 * Returns {root, load(channelId), complete(), payload(), focus(), selected()}.
 */
export function createPicker({ prefix = 'tpl', onChange = () => {} } = {}) {
  let templates = [];
  let loading = false;
  let loadError = null;
  let chosen = null; // the template
  let fields = [];
  const values = new Map();
  let channelId = null;
  let seq = 0;

  const search = h('input', {
    type: 'search', id: `${prefix}-search`, placeholder: 'Search by name or text', autocomplete: 'off',
    'aria-label': 'Search templates', 'aria-controls': `${prefix}-list`,
  });
  const showAll = h('input', { type: 'checkbox', id: `${prefix}-show-all` });
  const showAllLabel = h('span', { text: 'Show templates that cannot be sent' });
  const list = h('div', { class: 'tpl-list', id: `${prefix}-list`, role: 'radiogroup', 'aria-label': 'Templates' });
  const params = h('div', { class: 'tpl-params', id: `${prefix}-params` });
  const preview = h('div', { class: 'tpl-preview-phone', id: `${prefix}-preview`, 'aria-live': 'polite' });
  const missing = h('p', { class: 'muted small tpl-missing', id: `${prefix}-missing`, role: 'status' });
  const root = h('div', { class: 'tpl-picker' },
    h('div', { class: 'tpl-col tpl-col-list' },
      h('div', { class: 'tpl-search' }, search),
      h('label', { class: 'check small tpl-toggle', for: `${prefix}-show-all` }, showAll, showAllLabel),
      list),
    h('div', { class: 'tpl-col tpl-col-params' },
      h('h3', { text: 'Parameters' }), params, missing),
    h('div', { class: 'tpl-col tpl-col-preview' },
      h('h3', { text: 'Preview' }), preview));

  search.addEventListener('input', drawList);
  showAll.addEventListener('change', drawList);
  search.addEventListener('keydown', (e) => {
    // Down from the search goes into the list.
    if (e.key === 'ArrowDown') {
      const first = list.querySelector('input[type=radio]:not(:disabled)');
      if (first) { e.preventDefault(); first.focus(); }
    }
  });

  function matches(t, q) {
    if (!q) return true;
    const pv = t.preview || {};
    const hay = [t.name, t.name.replace(/_/g, ' '), t.language, t.category, pv.header, pv.body, pv.footer, ...(pv.buttons || [])]
      .filter(Boolean).join('\n').toLowerCase();
    return q.split(/\s+/).every((w) => hay.includes(w));
  }

  function drawList() {
    const q = search.value.trim().toLowerCase();
    const blocked = templates.filter((t) => !isApproved(t));
    showAllLabel.textContent = blocked.length
      ? `Show templates that cannot be sent (${blocked.length})` : 'Show templates that cannot be sent';
    showAll.disabled = !blocked.length;
    if (loading) { replace(list, h('div', { class: 'tpl-empty' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading templates…')); return; }
    if (loadError) {
      replace(list, h('div', { class: 'tpl-empty', role: 'alert' },
        h('div', { class: 'error-text', text: `The templates could not be loaded: ${loadError}` }),
        h('button', { type: 'button', class: 'btn small', text: 'Try again', on: { click: () => load(channelId) } })));
      return;
    }
    if (!templates.length) {
      replace(list, h('div', { class: 'tpl-empty', text: 'This channel has no message templates yet. An admin syncs them from WhatsApp Manager on the Channels page.' }));
      return;
    }
    const rows = templates.filter((t) => (showAll.checked || isApproved(t)) && matches(t, q));
    if (!rows.length) {
      replace(list, h('div', { class: 'tpl-empty', text: q ? `No template matches “${search.value.trim()}”.` : 'No approved template on this channel.' }));
      return;
    }
    const focusedKey = list.contains(document.activeElement) ? document.activeElement.value : null;
    replace(list, rows.map((t) => {
      const ok = isApproved(t);
      const key = templateKey(t);
      const id = `${prefix}-opt-${rows.indexOf(t)}`;
      const why = whyNotSendable(t);
      const radio = h('input', {
        type: 'radio', name: `${prefix}-template`, value: key, id, disabled: !ok,
        checked: !!chosen && templateKey(chosen) === key, 'aria-describedby': `${id}-desc`,
        'aria-label': `${t.name} (${t.language})${ok ? '' : `, ${statusLabel(t.status)}: cannot be sent`}`,
      });
      radio.addEventListener('change', () => { if (radio.checked) choose(t); });
      const body = (t.preview && (t.preview.body || t.preview.header)) || '';
      return h('label', { class: `tpl-opt${ok ? '' : ' blocked'}`, for: id, dataset: { name: t.name, language: t.language, status: String(t.status || '').toUpperCase() } },
        radio,
        h('div', { class: 'tpl-opt-main' },
          h('div', { class: 'tpl-opt-l1' },
            h('span', { class: 'tpl-name', text: t.name }),
            h('span', { class: 'tpl-lang', text: t.language }),
            ok ? null : statusChip(t.status)),
          h('div', { class: 'tpl-opt-desc', id: `${id}-desc` },
            why ? h('span', { class: 'tpl-why', text: why }) : null,
            h('span', { class: 'tpl-snippet', text: body }),
            t.category ? h('span', { class: 'tpl-cat', text: statusLabel(t.category) }) : null)));
    }));
    if (focusedKey) [...list.querySelectorAll('input[type=radio]')].find((r) => r.value === focusedKey)?.focus();
  }

  function choose(t) {
    chosen = t;
    fields = paramFields(t);
    values.clear();
    for (const f of fields) values.set(fieldKey(f), '');
    drawParams();
    drawPreview();
    onChange();
  }

  function drawParams() {
    if (!chosen) {
      replace(params, h('p', { class: 'muted small', text: 'Choose a template on the left.' }));
      missing.textContent = '';
      return;
    }
    if (!fields.length) {
      replace(params, h('p', { class: 'muted small', text: 'This template has no parameters: it goes as it is.' }));
      updateMissing();
      return;
    }
    const groups = [['header', 'Header'], ['body', 'Body'], ['buttons', 'Buttons']];
    replace(params, groups.map(([part, title]) => {
      const mine = fields.filter((f) => f.part === part);
      if (!mine.length) return null;
      return h('fieldset', { class: 'tpl-group', dataset: { part } }, h('legend', { text: title }),
        mine.map((f) => {
          const id = `${prefix}-p-${part}-${f.i}`;
          const input = h('input', {
            type: f.type, id, name: fieldKey(f), autocomplete: 'off', required: true,
            placeholder: f.example ? String(f.example) : (f.placeholder || ''),
            'aria-describedby': f.example ? `${id}-hint` : null,
            dataset: { part, index: f.i, ...(f.name ? { name: f.name } : {}) },
          });
          input.value = values.get(fieldKey(f)) || '';
          const problem = h('div', { class: 'error-text small field-problem', id: `${id}-problem`, hidden: true });
          input.addEventListener('input', () => {
            values.set(fieldKey(f), input.value);
            input.classList.toggle('filled', !!input.value.trim());
            const why = valueProblem(input.value);
            problem.hidden = !why;
            problem.textContent = why || '';
            if (why) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
            input.setAttribute('aria-describedby', [f.example ? `${id}-hint` : null, why ? `${id}-problem` : null].filter(Boolean).join(' ') || '');
            drawPreview();
            updateMissing();
            onChange();
          });
          return h('div', { class: 'field tpl-field' },
            h('div', { class: 'tpl-field-head' },
              h('label', { for: id, class: f.part === 'buttons' || f.format && f.format !== 'text' ? null : 'code', text: f.label }),
              f.example ? h('span', { class: 'eg', id: `${id}-hint`, title: 'Meta’s example', text: `e.g. ${f.example}` }) : null),
            input,
            problem);
        }));
    }));
    updateMissing();
  }

  function drawPreview() {
    if (!chosen) {
      replace(preview, h('div', { class: 'tpl-preview-empty', text: 'The message the customer will get shows here.' }));
      return;
    }
    replace(preview, previewBubble(chosen, fields, values));
  }

  function emptyCount() {
    return fields.filter((f) => !(values.get(fieldKey(f)) || '').trim()).length;
  }

  function badCount() {
    return fields.filter((f) => valueProblem(values.get(fieldKey(f)) || '')).length;
  }

  function updateMissing() {
    const n = emptyCount();
    const bad = badCount();
    missing.textContent = !chosen ? ''
      : n ? `Fill in ${n === 1 ? 'the last field' : `${n} more fields`} to send.`
        : bad ? 'Correct the marked field to send.' : 'Ready to send.';
  }

  async function load(id) {
    channelId = id;
    const mySeq = ++seq;
    loading = true;
    loadError = null;
    chosen = null;
    fields = [];
    values.clear();
    drawList();
    drawParams();
    drawPreview();
    onChange();
    try {
      const items = await loadTemplates(id);
      if (mySeq !== seq) return;
      templates = items;
    } catch (e) {
      if (mySeq !== seq) return;
      templates = [];
      loadError = e.message || 'unknown error';
    }
    loading = false;
    drawList();
    onChange();
  }

  drawList();
  drawParams();
  drawPreview();

  return {
    root,
    load,
    focus: () => search.focus(),
    selected: () => chosen,
    complete: () => !!chosen && isApproved(chosen) && emptyCount() === 0 && badCount() === 0,
    payload: () => chosen && {
      name: chosen.name,
      language: chosen.language,
      parameters: parametersFrom(chosen, fields, values),
    },
    /** Focus the first empty field (after a refusal about the parameters). */
    focusFirstEmpty: () => {
      const f = fields.find((x) => !(values.get(fieldKey(x)) || '').trim()) || fields[0];
      if (f) params.querySelector(`[name="${CSS.escape(fieldKey(f))}"]`)?.focus();
    },
    text: () => (chosen ? previewText(chosen, fields, values) : ''),
  };
}

// ---------------------------------------------------------------- refusals

/** A refusal of a send or a start, as the agent should read it. */
export function refusalText(e) {
  const msg = (e && e.message) || 'Something went wrong.';
  const lead = {
    template_not_approved: ['not approved', 'This template cannot be sent: it is not approved by WhatsApp (any more).'],
    bad_template_parameters: ['parameter', 'The parameters do not fit this template:'],
    conversation_open: ['open conversation', 'This customer already has an open conversation on this channel.'],
    invalid_phone: ['number', 'This is not a phone number WhatsApp can reach:'],
    not_found: ['not found', 'Not found:'],
  }[e && e.code];
  // The server's message says it all when it already names the problem.
  if (!lead || msg.toLowerCase().includes(lead[0])) return msg.charAt(0).toUpperCase() + msg.slice(1);
  return `${lead[1]} ${msg}`;
}

// ---------------------------------------------------------------- dialogs

/**
 * "Send template" in a conversation. `send(payload)` resolves when the server acknowledged,
 * rejects with {code, message} when it refused: the refusal is shown in the dialog.
 */
export function openTemplateDialog({ channelId, customerName, send, onSent }) {
  const m = modal({ title: `Send a template to ${customerName || 'the customer'}`, id: 'template-dialog' });
  m.dialog.classList.add('tpl-dialog');
  const err = h('div', { class: 'error-text dlg-error', id: 'template-error', role: 'alert' });
  const sendBtn = h('button', { type: 'button', class: 'btn primary', id: 'template-send', text: 'Send template', disabled: true });
  const picker = createPicker({ prefix: 'tpl', onChange: () => { sendBtn.disabled = busy || !picker.complete(); } });
  let busy = false;
  m.body.append(
    h('p', { class: 'muted small tpl-intro', text: 'WhatsApp lets the business write first, or again after 24 hours, only with a template approved by Meta.' }),
    picker.root);
  m.foot.append(err, h('span', { class: 'spacer' }),
    h('button', { type: 'button', class: 'btn', text: 'Cancel', on: { click: () => m.close() } }), sendBtn);
  async function go() {
    if (busy || !picker.complete()) return;
    busy = true;
    sendBtn.disabled = true;
    sendBtn.textContent = 'Sending…';
    err.textContent = '';
    try {
      await send(picker.payload());
      m.close();
      if (onSent) onSent();
    } catch (e) {
      err.textContent = refusalText(e);
      if (e && e.code === 'bad_template_parameters') picker.focusFirstEmpty();
    } finally {
      busy = false;
      sendBtn.textContent = 'Send template';
      sendBtn.disabled = !picker.complete();
    }
  }
  sendBtn.addEventListener('click', go);
  m.form.addEventListener('keydown', (e) => { if (enterSends(e)) { e.preventDefault(); go(); } });
  m.dialog.showModal();
  picker.focus();
  picker.load(channelId);
  return m;
}

/** Enter in a parameter field sends (or starts) once everything is filled in. */
function enterSends(e) {
  return e.key === 'Enter' && !e.isComposing && !e.shiftKey && e.target.matches('.tpl-params input');
}

const PHONE = /^\+?[\d\s().-]{6,24}$/;

function contactLabel(c) {
  return [c.first_name, c.last_name].filter(Boolean).join(' ') || (c.phones && c.phones[0]) || 'this contact';
}

/**
 * "New conversation": the business writes first with a template.
 * channels: [{id, name, display_phone_number}] (the desk knows only the conversation's own).
 * contact: the CRM contact (optional); to: a number to start with (optional).
 * onCreated(interaction) after the 201; conflict(message) may answer {label, action} to show
 * a button next to a `conversation_open` refusal (the desk: "Show it").
 */
export function openNewConversation({ channels, channelId, contact, to, onCreated, conflict }) {
  const who = contact ? contactLabel(contact) : null;
  const m = modal({ title: who ? `New conversation with ${who}` : 'New conversation', id: 'new-conversation-dialog' });
  m.dialog.classList.add('tpl-dialog');
  const list = channels || [];
  const channelSel = h('select', { id: 'nc-channel' }, list.map((c) => h('option', {
    value: String(c.id), text: [c.name, c.display_phone_number].filter(Boolean).join(' · ') || `Channel ${c.id}`,
  })));
  if (channelId !== undefined && channelId !== null) channelSel.value = String(channelId);
  channelSel.disabled = list.length < 2;
  const phones = (contact && contact.phones) || [];
  const first = to || phones[0] || '';
  const number = h('input', {
    type: 'tel', id: 'nc-to', value: first, autocomplete: 'off', list: phones.length > 1 ? 'nc-to-list' : null,
    placeholder: '+44 7700 900123', 'aria-describedby': 'nc-to-hint',
  });
  const datalist = phones.length > 1 ? h('datalist', { id: 'nc-to-list' }, phones.map((p) => h('option', { value: p }))) : null;
  const hint = h('div', { class: 'hint', id: 'nc-to-hint' });
  const err = h('div', { class: 'error-text dlg-error', id: 'new-conversation-error', role: 'alert' });
  const errAction = h('span', { id: 'new-conversation-error-action' });
  const start = h('button', { type: 'button', class: 'btn primary', id: 'new-conversation-start', text: 'Start conversation', disabled: true });
  const picker = createPicker({ prefix: 'nct', onChange: check });
  let busy = false;

  // A contact with a number on file: that number names the contact (contact_id); another
  // number is sent as it is typed (to).
  function recipient() {
    const v = number.value.trim();
    if (contact && contact.id !== null && contact.id !== undefined) {
      if (!v && !phones.length) return { contact_id: contact.id };
      if (phones.length && v === phones[0]) return { contact_id: contact.id };
    }
    return v ? { to: v } : null;
  }
  function numberProblem() {
    const v = number.value.trim();
    if (!v) return contact && !phones.length ? null : 'Enter the customer’s number.';
    if (!PHONE.test(v) || v.replace(/\D/g, '').length < 6) return 'Enter the number with its country code, like +44 7700 900123.';
    return null;
  }
  function fillHint() {
    const r = recipient();
    const problem = numberProblem();
    hint.classList.toggle('error-text', !!problem && !!number.value.trim());
    if (problem && number.value.trim()) hint.textContent = problem;
    else if (r && r.contact_id !== undefined) hint.textContent = `Sent to ${who}, the contact on file.`;
    else hint.textContent = 'With the country code. WhatsApp delivers the template if the number has WhatsApp.';
  }
  function check() {
    fillHint();
    start.disabled = busy || !picker.complete() || !!numberProblem() || !recipient() || !channelSel.value;
  }
  number.addEventListener('input', () => { err.textContent = ''; replace(errAction); check(); });
  channelSel.addEventListener('change', () => { err.textContent = ''; replace(errAction); picker.load(Number(channelSel.value)); });

  m.body.append(
    h('div', { class: 'grid2' },
      h('div', { class: 'field' }, h('label', { for: 'nc-channel', text: 'From (business number)' }), channelSel),
      h('div', { class: 'field' }, h('label', { for: 'nc-to', text: 'To (customer’s WhatsApp number)' }), number, datalist, hint)),
    list.length ? picker.root : h('p', { class: 'muted', text: 'No WhatsApp channel is available.' }));
  m.foot.append(err, errAction, h('span', { class: 'spacer' }),
    h('button', { type: 'button', class: 'btn', text: 'Cancel', on: { click: () => m.close() } }), start);

  async function go() {
    if (busy || start.disabled) return;
    busy = true;
    start.disabled = true;
    start.textContent = 'Starting…';
    err.textContent = '';
    replace(errAction);
    try {
      const body = { channel_id: Number(channelSel.value), ...recipient(), template: picker.payload() };
      const created = await api('POST', '/api/v1/conversations', body);
      m.close();
      if (onCreated) onCreated(created);
    } catch (e) {
      err.textContent = refusalText(e);
      if (e.code === 'conversation_open' && conflict) {
        const act = conflict(e.message || '');
        if (act) {
          replace(errAction, h('button', {
            type: 'button', class: 'btn small', id: 'new-conversation-open-existing', text: act.label,
            on: { click: () => { m.close(); act.action(); } },
          }));
        }
      }
      if (e.code === 'invalid_phone') number.focus();
      else if (e.code === 'bad_template_parameters') picker.focusFirstEmpty();
    } finally {
      busy = false;
      start.textContent = 'Start conversation';
      check();
    }
  }
  start.addEventListener('click', go);
  m.form.addEventListener('keydown', (e) => { if (enterSends(e)) { e.preventDefault(); go(); } });
  fillHint();
  m.dialog.showModal();
  if (!number.value) number.focus(); else picker.focus();
  if (list.length) picker.load(Number(channelSel.value));
  return m;
}
