/*
 * engaged's campaign page: reads the read API (schemas/api.openapi.yaml)
 * every INTERVAL_MS and draws one campaign.  No library, no inline code
 * (the server's Content-Security-Policy forbids it), and every value from
 * the API reaches the document through textContent or setAttribute, never
 * as markup.
 *
 * Hooks for tests (tests/browser.py): data-testid on the figures,
 * document.body.dataset.state ("loading", "ready", "empty", "notfound",
 * "auth", "error") and document.body.dataset.renders, incremented each time
 * a campaign has been drawn in full.
 */
'use strict';

(function () {
  const INTERVAL_MS = 5000;
  const STALE_MS = 3 * INTERVAL_MS;
  const FETCH_TIMEOUT_MS = 4500;
  const TOKEN_KEY = 'engaged.token';
  const CAMPAIGNS = 50;     /* in the list */
  const DAYS = 31;          /* of the daily chart */
  const TOP = 20;           /* top creators */
  const ALERTS_READ = 200;  /* latest alerts read, to find the campaign's */
  const ALERTS_SHOWN = 20;
  const SVG = 'http://www.w3.org/2000/svg';
  const TIER_FIELDS = ['creators', 'reach', 'posts', 'engagements', 'er',
                       'clicks', 'conversions', 'conversion_rate'];
  const RATIOS = {er: true, conversion_rate: true};

  const intFmt = new Intl.NumberFormat('en-US', {maximumFractionDigits: 0});
  const pctFmt = new Intl.NumberFormat('en-US', {minimumFractionDigits: 2,
                                                 maximumFractionDigits: 2});

  let lastOk = 0;          /* Date.now() of the last complete refresh */
  let timer = null;
  let seq = 0;             /* a refresh answered after a newer one began is dropped */
  let readyStatus = null;  /* the last /readyz answer, or 0 when none came */

  function $(id) { return document.getElementById(id); }

  /* 1234567 -> "1,234,567"; null (unknown) -> an en dash. */
  function num(n) {
    return n === null || n === undefined ? '\u2013' : intFmt.format(n);
  }

  /* 0.012345 -> "1.23%"; null (no divisor) -> an en dash. */
  function pct(r) {
    return r === null || r === undefined ? '\u2013' : pctFmt.format(r * 100) + '%';
  }

  function fmt(field, v) { return RATIOS[field] ? pct(v) : num(v); }

  /* Epoch ms of event time -> "2026-11-01 10:00 UTC". */
  function when(ms) {
    return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  }

  /* An element with a class and text; `attrs` become attributes. */
  function el(tag, cls, text, attrs) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (attrs)
      for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const k of Object.keys(attrs || {})) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function show(node, on) { node.hidden = !on; }

  function setState(s) { document.body.dataset.state = s; }

  /* ---- the API ------------------------------------------------------ */

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function headers() {
    const h = {'Accept': 'application/json'};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) h['Authorization'] = 'Bearer ' + token;
    return h;
  }

  async function fetchTimeout(path) {
    const ctl = new AbortController();
    const t = setTimeout(function () { ctl.abort(); }, FETCH_TIMEOUT_MS);
    try {
      return await fetch(path, {headers: headers(), cache: 'no-store',
                                signal: ctl.signal});
    } catch (e) {
      throw new ApiError(0, path + ': ' + (e.name === 'AbortError'
        ? 'no answer within ' + FETCH_TIMEOUT_MS / 1000 + ' s'
        : 'engaged cannot be reached'));
    } finally {
      clearTimeout(t);
    }
  }

  /* GET an API path; resolves to `data`, rejects with an ApiError. */
  async function api(path) {
    const r = await fetchTimeout(path);
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (r.ok && body && body.status === 'success') return body.data;
    const why = body && body.error ? body.error : 'HTTP ' + r.status;
    throw new ApiError(r.status, path + ': ' + why);
  }

  async function checkReady() {
    try {
      const r = await fetchTimeout('/readyz');
      readyStatus = r.status;
    } catch (e) {
      readyStatus = 0;
    }
    const b = $('banner-notready');
    if (readyStatus === 200) {
      show(b, false);
    } else {
      b.textContent = readyStatus === 0
        ? 'engaged is not ready: it does not answer /readyz.'
        : 'engaged is not ready: /readyz answered ' + readyStatus +
          ' (Redis or Kafka not there yet); the figures may lag.';
      show(b, true);
    }
  }

  /* ---- the selected campaign: #campaign=<percent-encoded id> ---------- */

  function hashCampaign() {
    const m = /(?:^#|&)campaign=([^&]*)/.exec(location.hash);
    if (!m || m[1] === '') return null;
    try {
      return decodeURIComponent(m[1]);
    } catch (e) {
      return null;
    }
  }

  function campaignHref(id) { return '#campaign=' + encodeURIComponent(id); }

  /* ---- drawing -------------------------------------------------------- */

  function drawList(list, selected) {
    const ol = $('campaign-list');
    clear(ol);
    $('campaign-count').textContent = list.campaigns.length < list.total
      ? '(' + list.campaigns.length + ' of ' + num(list.total) + ')'
      : '(' + num(list.total) + ')';
    for (const c of list.campaigns) {
      const li = el('li', c.id === selected ? 'sel' : '');
      const a = el('a', null, null, {href: campaignHref(c.id)});
      a.dataset.testid = 'campaign-item';
      a.dataset.campaign = c.id;
      a.appendChild(el('span', 'id', c.id));
      a.appendChild(el('span', 'meta', num(c.engagements) + ' eng. \u00b7 ' +
                       num(c.creators) + (c.creators === 1 ? ' creator' : ' creators')));
      a.appendChild(el('span', 'meta', 'last ' + when(c.last_ms)));
      li.appendChild(a);
      ol.appendChild(li);
    }
  }

  function drawTotals(t) {
    const dl = $('totals');
    clear(dl);
    const names = {creators: 'creators', reach: 'reach', posts: 'posts',
                   engagements: 'engagements', er: 'ER', clicks: 'clicks',
                   conversions: 'conversions', conversion_rate: 'conv. rate'};
    for (const f of TIER_FIELDS) {
      const d = el('div', 'total');
      d.appendChild(el('dt', null, names[f]));
      const dd = el('dd', null, fmt(f, t[f]));
      dd.dataset.testid = 'total';
      dd.dataset.field = f;
      d.appendChild(dd);
      dl.appendChild(d);
    }
  }

  function drawTiers(camp, tiers) {
    const mins = {};
    for (const t of tiers.tiers) mins[t.tier] = t.min_followers;
    const body = $('tier-rows');
    clear(body);
    for (const t of camp.tiers) {
      const tr = el('tr');
      const name = el('th', 'l', t.tier, {scope: 'row'});
      if (mins[t.tier] !== undefined && mins[t.tier] !== null)
        name.appendChild(el('span', 'min', '\u2265 ' + num(mins[t.tier])));
      tr.appendChild(name);
      for (const f of TIER_FIELDS) {
        const td = el('td', t[f] ? '' : 'zero', fmt(f, t[f]));
        td.dataset.testid = 'tier-cell';
        td.dataset.tier = t.tier;
        td.dataset.field = f;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    const foot = $('tier-foot');
    clear(foot);
    const tr = el('tr');
    tr.appendChild(el('th', 'l', 'all', {scope: 'row'}));
    for (const f of TIER_FIELDS) {
      const td = el('td', null, fmt(f, camp.totals[f]));
      td.dataset.testid = 'tier-total';
      td.dataset.field = f;
      tr.appendChild(td);
    }
    foot.appendChild(tr);
  }

  /*
   * The top of an axis of 4 steps that holds v: each step the smallest
   * whole 1, 2, 2.5 or 5 times a power of ten at or above v / 4, so that
   * every tick is a whole number.
   */
  function niceMax(v) {
    const x = v / 4;
    if (x <= 1) return 4;
    const p = Math.pow(10, Math.floor(Math.log10(x)));
    for (const m of [1, 2, 2.5, 5, 10])
      if (m * p >= x && Number.isInteger(m * p)) return 4 * m * p;
    return 40 * p;
  }

  /* Engagements per day as bars (left axis), conversions as a line (right). */
  function drawChart(days) {
    const box = $('chart');
    clear(box);
    box.dataset.days = String(days.length);
    if (days.length === 0) {
      box.appendChild(el('p', 'note', 'No day yet.'));
      return;
    }
    const W = 560, H = 230, L = 52, R = 44, T = 12, B = 40;
    const w = W - L - R, h = H - T - B;
    const eMax = niceMax(Math.max.apply(null, days.map(function (d) { return d.engagements; })));
    const cMax = niceMax(Math.max.apply(null, days.map(function (d) { return d.conversions; })));
    const s = svg('svg', {viewBox: '0 0 ' + W + ' ' + H, role: 'img',
                          'aria-label': 'engagements and conversions per day'});
    const step = w / days.length;
    const bw = Math.max(1, step * 0.7);
    for (let i = 0; i <= 4; i++) {
      const y = T + h - h * i / 4;
      s.appendChild(svg('line', {x1: L, x2: L + w, y1: y, y2: y, class: 'grid'}));
      s.appendChild(svg('text', {x: L - 6, y: y + 4, class: 'axis e', 'text-anchor': 'end'},
                        num(eMax * i / 4)));
      s.appendChild(svg('text', {x: L + w + 6, y: y + 4, class: 'axis c'},
                        num(cMax * i / 4)));
    }
    const every = Math.max(1, Math.ceil(days.length / 8));
    const pts = [];
    days.forEach(function (d, i) {
      const x = L + step * i + (step - bw) / 2;
      const bh = h * d.engagements / eMax;
      const bar = svg('rect', {x: x.toFixed(2), y: (T + h - bh).toFixed(2),
                               width: bw.toFixed(2), height: bh.toFixed(2), class: 'bar'});
      bar.dataset.testid = 'chart-day';
      bar.dataset.date = d.date;
      bar.dataset.engagements = String(d.engagements);
      bar.dataset.conversions = String(d.conversions);
      bar.appendChild(svg('title', {}, d.date + ': ' + num(d.engagements) +
                          ' engagements, ' + num(d.conversions) + ' conversions, ' +
                          num(d.clicks) + ' clicks'));
      s.appendChild(bar);
      pts.push((L + step * i + step / 2).toFixed(2) + ',' +
               (T + h - h * d.conversions / cMax).toFixed(2));
      if (i % every === 0)
        s.appendChild(svg('text', {x: L + step * i + step / 2, y: T + h + 16,
                                   class: 'axis', 'text-anchor': 'middle'},
                          d.date.slice(5)));
    });
    s.appendChild(svg('polyline', {points: pts.join(' '), class: 'line'}));
    s.appendChild(svg('rect', {x: L, y: H - 14, width: 10, height: 10, class: 'bar'}));
    s.appendChild(svg('text', {x: L + 14, y: H - 5, class: 'axis'}, 'engagements (left)'));
    s.appendChild(svg('line', {x1: L + 150, x2: L + 166, y1: H - 9, y2: H - 9, class: 'line'}));
    s.appendChild(svg('text', {x: L + 170, y: H - 5, class: 'axis'}, 'conversions (right)'));
    box.appendChild(s);
  }

  function drawTop(camp) {
    const body = $('top-rows');
    clear(body);
    if (camp.top_creators.length === 0) {
      body.appendChild(el('tr')).appendChild(el('td', 'note', 'No creator yet.', {colspan: 6}));
      return;
    }
    camp.top_creators.forEach(function (c, i) {
      const rank = String(i + 1);
      const tr = el('tr');
      tr.dataset.testid = 'top-creator';
      tr.dataset.rank = rank;
      tr.dataset.creator = c.creator_id;
      const cells = [
        ['rank', rank, ''], ['creator_id', c.creator_id, 'l id'],
        ['tier', c.tier === null ? '\u2013' : c.tier, 'l'],
        ['followers', num(c.followers), ''], ['engagements', num(c.engagements), ''],
        ['share', pct(camp.totals.engagements ? c.engagements / camp.totals.engagements : null), ''],
      ];
      for (const [f, text, cls] of cells) {
        const td = el('td', cls, text);
        td.dataset.testid = 'top-cell';
        td.dataset.rank = rank;
        td.dataset.field = f;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    });
  }

  /* Whether a JSON value holds the string `id` anywhere. */
  function mentions(v, id) {
    if (typeof v === 'string') return v === id;
    if (Array.isArray(v)) return v.some(function (x) { return mentions(x, id); });
    if (v && typeof v === 'object')
      return Object.keys(v).some(function (k) { return mentions(v[k], id); });
    return false;
  }

  /*
   * The campaign's alerts first (their creator is one of its top creators,
   * or their labels or details name the campaign, as brand_conflict's
   * campaign_ids do), the latest first, then the latest others, ALERTS_SHOWN
   * in all.
   */
  function drawAlerts(camp, alerts) {
    $('alerts-note').textContent = 'this campaign\u2019s first (its top creators\u2019, or naming it), ' +
      'then the latest others; ' + ALERTS_SHOWN + ' at most';
    const top = new Set(camp.top_creators.map(function (c) { return c.creator_id; }));
    const latest = alerts.alerts.slice().reverse();
    const mine = [], others = [];
    for (const a of latest) {
      const x = a.alert;
      const related = top.has(x.creator_id) || mentions(x.labels, camp.id) ||
                      mentions(x.details, camp.id);
      (related ? mine : others).push(a);
    }
    const shown = mine.concat(others).slice(0, ALERTS_SHOWN);
    const ol = $('alerts');
    clear(ol);
    if (shown.length === 0) {
      ol.appendChild(el('li', 'note', 'No alert in the stream.'));
      return;
    }
    for (const a of shown) {
      const x = a.alert;
      const related = mine.indexOf(a) >= 0;
      const li = el('li', 'alert ' + x.severity + (related ? ' mine' : ''));
      li.dataset.testid = 'alert';
      li.dataset.alertId = x.alert_id;
      li.dataset.related = related ? 'yes' : 'no';
      const head = el('div', 'head');
      head.appendChild(el('span', 'sev', x.severity));
      head.appendChild(el('span', 'kind', x.kind.replace(/_/g, ' ')));
      head.appendChild(el('span', 'status ' + x.status, x.status));
      head.appendChild(el('span', 'who', x.creator_id));
      head.appendChild(el('span', 'at', x.starts_at.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z')));
      if (related) head.appendChild(el('span', 'tag', 'this campaign'));
      li.appendChild(head);
      li.appendChild(el('div', 'summary', x.summary));
      ol.appendChild(li);
    }
  }

  function drawCampaign(camp, tiers, alerts) {
    $('campaign-id').textContent = camp.id;
    $('campaign-span').textContent = 'active ' + when(camp.first_ms) + ' \u2192 ' +
      when(camp.last_ms) + ' (event time) \u00b7 ' + num(camp.totals.sponsored_posts) +
      ' sponsored posts of ' + num(camp.totals.posts);
    drawTotals(camp.totals);
    drawTiers(camp, tiers);
    drawChart(camp.days);
    drawTop(camp);
    drawAlerts(camp, alerts);
    show($('empty'), false);
    show($('campaign'), true);
    document.title = camp.id + ' \u00b7 engaged';
    document.body.dataset.campaign = camp.id;
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
    setState('ready');
  }

  function drawEmpty(state, message) {
    show($('campaign'), false);
    $('empty').textContent = message;
    show($('empty'), true);
    setState(state);
  }

  /* ---- the refresh loop ---------------------------------------------- */

  function tick() {
    const u = $('updated');
    if (lastOk === 0) {
      u.textContent = 'not updated yet';
    } else {
      const s = Math.max(0, Math.round((Date.now() - lastOk) / 1000));
      u.textContent = 'updated ' + s + ' s ago \u00b7 every ' + INTERVAL_MS / 1000 + ' s';
    }
    const stale = lastOk !== 0 && Date.now() - lastOk > STALE_MS;
    const b = $('banner-stale');
    if (stale)
      b.textContent = 'STALE: no refresh has succeeded for ' +
        Math.round((Date.now() - lastOk) / 1000) + ' s (since ' +
        new Date(lastOk).toLocaleTimeString() + '); the figures below are older.';
    show(b, stale);
    document.body.dataset.stale = stale ? 'yes' : 'no';
  }

  function askToken(refused) {
    show($('auth'), true);
    $('auth-msg').textContent = refused ? 'That token was refused.' : '';
    drawEmpty('auth', 'engaged needs a token to show its campaigns.');
  }

  async function refresh() {
    const mine = ++seq;
    clearTimeout(timer);
    timer = null;
    checkReady();
    try {
      const [list, tiers, alerts] = await Promise.all([
        api('/v1/campaigns?limit=' + CAMPAIGNS), api('/v1/tiers'),
        api('/v1/alerts?limit=' + ALERTS_READ)]);
      const id = hashCampaign() || (list.campaigns.length ? list.campaigns[0].id : null);
      let camp = null, missing = false;
      if (id !== null) {
        try {
          camp = await api('/v1/campaigns/' + encodeURIComponent(id) +
                           '?days=' + DAYS + '&top=' + TOP);
        } catch (e) {
          if (e.status !== 404) throw e;
          missing = true;
        }
      }
      if (mine !== seq) return;
      show($('auth'), false);
      show($('banner-error'), false);
      drawList(list, id);
      if (camp) drawCampaign(camp, tiers, alerts);
      else if (missing) drawEmpty('notfound', 'No campaign "' + id + '" in Redis (expired, or never seen).');
      else drawEmpty('empty', 'No campaign in Redis yet: engaged has not seen a campaign_id.');
      lastOk = Date.now();
    } catch (e) {
      if (mine !== seq) return;
      if (e.status === 401) {
        askToken(sessionStorage.getItem(TOKEN_KEY) !== null);
      } else {
        const b = $('banner-error');
        b.textContent = 'The last refresh failed: ' + e.message;
        show(b, true);
        if (lastOk === 0) setState('error');
      }
    } finally {
      if (mine === seq) {
        tick();
        timer = setTimeout(refresh, INTERVAL_MS);
      }
    }
  }

  function start() {
    $('auth').addEventListener('submit', function (ev) {
      ev.preventDefault();
      const v = $('auth-token').value.trim();
      if (v === '') return;
      sessionStorage.setItem(TOKEN_KEY, v);
      $('auth-token').value = '';
      refresh();
    });
    window.addEventListener('hashchange', refresh);
    setInterval(tick, 1000);
    refresh();
  }

  if (document.readyState === 'loading')
    document.addEventListener('DOMContentLoaded', start);
  else
    start();
})();
