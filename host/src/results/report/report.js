'use strict';
(function () {
  // Rows in the results table at once: DOM cost stays constant however big the run is.
  var PAGE_SIZE = Number(document.getElementById('results-body').getAttribute('data-page-size')) || 100;
  // Rows indexed for search per slice of background work, so no slice blocks input for long.
  var INDEX_SLICE = 500;
  var SEARCH_DELAY_MS = 120;
  var TEXT_PREVIEW = 240;
  var DASH = '-';

  var RESPONSE_JUDGED = 'response/llm_judged/';
  var RETRIEVAL_JUDGED = 'retrieval/llm_judged/';
  var OVERALL_RATING = 'response/overall_assessment/rating';
  var ROOT_CAUSE = 'response/overall_assessment/root_cause';
  var OVERALL_RATIONALE = 'response/overall_assessment/rationale';

  // A judge's own output fields; the key before the last one of these is the judge.
  var JUDGE_FIELDS = ['rating', 'rationale', 'score', 'error_message', 'llm_call_count', 'total_token_count',
    'ratings', 'rationales', 'scores', 'error_messages', 'precision'];
  var JUDGE_FIELD_SET = new Set(JUDGE_FIELDS);

  // Deterministic metrics with a column of their own, in this order, when any row has them.
  var EXTRA_COLUMNS = [
    { key: 'response/exact_match/rating', label: 'exact_match', kind: 'rating' },
    { key: 'response/token_count', label: 'tokens', kind: 'int' },
    { key: 'retrieval/ground_truth/document_recall', label: 'document recall', kind: 'fraction' },
    { key: 'agent/latency_seconds', label: 'latency', kind: 'seconds' },
    { key: 'agent/total_token_count', label: 'agent tokens', kind: 'int' }
  ];

  // Status codes in typed arrays: filtering 10,000 rows then touches no row objects.
  var NONE = 0, YES = 1, NO = 2, ERROR = 3;
  var STATUS_NAME = ['', 'yes', 'no', 'error'];

  var model = null;   // everything derived from the data once, at load
  var view = {        // what the user currently looks at
    filtered: [],     // row indices passing the filters, in data order
    page: 0,
    search: '',
    judge: -1,
    cause: -1,
    failingOnly: false,
    errorsOnly: false,
    detailPos: -1,    // position in view.filtered of the row in the dialog
    opener: null,     // the row button to give focus back to when the dialog closes
    tableScrolled: false
  };
  var searchTimer = 0;

  function $(id) { return document.getElementById(id); }

  /* ---------- DOM building: data only ever reaches the page as text nodes ---------- */

  function h(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var name in attrs) {
        var value = attrs[name];
        if (value == null || value === false) continue;
        if (name === 'class') node.className = value;
        else if (name === 'testid') node.setAttribute('data-testid', value);
        else node.setAttribute(name, value === true ? '' : String(value));
      }
    }
    appendKids(node, Array.prototype.slice.call(arguments, 2));
    return node;
  }

  function appendKids(node, kids) {
    for (var i = 0; i < kids.length; i++) {
      var kid = kids[i];
      if (kid == null || kid === false) continue;
      if (Array.isArray(kid)) appendKids(node, kid);
      else node.append(kid instanceof Node ? kid : String(kid));
    }
  }

  // Lets long judge names such as guideline_adherence/english wrap at their separators.
  function breakable(text) {
    var parts = String(text).split(/(?<=[\/_])/);
    var out = [];
    parts.forEach(function (part, i) { if (i) out.push(h('wbr')); out.push(part); });
    return out;
  }

  function preview(text, max) {
    text = String(text);
    return text.length > max ? text.slice(0, max - 1) + '…' : text;
  }

  /* ---------- formatting ---------- */

  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function fmtInt(v) { return isNum(v) ? Math.round(v).toLocaleString('en-US') : DASH; }
  function fmtFixed(v, digits) { return isNum(v) ? v.toFixed(digits) : DASH; }
  function fmtPct(v) { return isNum(v) ? (v * 100).toFixed(1) + '%' : DASH; }
  function fmtSeconds(v) { return isNum(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) + ' s' : DASH; }
  function fmtAvgInt(v) { return isNum(v) ? (Number.isInteger(v) ? fmtInt(v) : v.toFixed(1)) : DASH; }

  function fmtMetric(key, v) {
    if (v == null) return DASH;
    if (!isNum(v)) return typeof v === 'string' ? v : JSON.stringify(v);
    if (/\/percentage$/.test(key)) return fmtPct(v);
    if (key.indexOf('latency_seconds') >= 0) return fmtSeconds(v);
    if (Number.isInteger(v)) return fmtInt(v);
    return v.toFixed(3);
  }

  function fmtKind(kind, v) {
    if (kind === 'int') return fmtInt(v);
    if (kind === 'fraction') return fmtFixed(v, 2);
    if (kind === 'seconds') return fmtSeconds(v);
    return v == null ? DASH : String(v);
  }

  function json(v) { return JSON.stringify(v, null, 2); }

  function badge(status, text) {
    var name = STATUS_NAME[status] || '';
    return h('span', { 'class': 'badge ' + name }, text != null ? text : (name || DASH));
  }

  function ratingStatus(value) {
    return value === 'yes' ? YES : value === 'no' ? NO : NONE;
  }

  /* ---------- reading requests and responses the way gavel does ---------- */

  // A message's content: a string, or a list of parts whose text parts count.
  function contentText(content) {
    if (typeof content === 'string') return content;
    if (content == null) return '';
    if (Array.isArray(content)) {
      return content.map(function (part) {
        if (typeof part === 'string') return part;
        return part && typeof part.text === 'string' ? part.text : '';
      }).filter(Boolean).join('\n');
    }
    return JSON.stringify(content);
  }

  function lastMessage(messages, role) {
    for (var i = messages.length - 1; i >= 0; i--) {
      var m = messages[i];
      if (m && typeof m === 'object' && (!role || m.role === role)) return m;
    }
    return null;
  }

  // What the table shows for a request: for a conversation, the question being answered.
  function requestSummary(request) {
    if (typeof request === 'string') return request;
    if (request == null) return '';
    if (Array.isArray(request.messages)) {
      var m = lastMessage(request.messages, 'user') || lastMessage(request.messages);
      return m ? contentText(m.content) : '';
    }
    if (typeof request === 'object') {
      var keys = ['query', 'question', 'input', 'prompt'];
      for (var i = 0; i < keys.length; i++) if (typeof request[keys[i]] === 'string') return request[keys[i]];
    }
    return JSON.stringify(request);
  }

  // Every message, so a search finds words from earlier turns too.
  function requestFullText(request) {
    if (request && Array.isArray(request.messages)) {
      return request.messages.map(function (m) { return m ? contentText(m.content) : ''; }).join('\n');
    }
    return requestSummary(request);
  }

  // Mirrors gavel's read_response: a string, a list of strings, a ChatCompletion or {"content": ...}.
  function responseText(response) {
    if (typeof response === 'string') return response;
    if (response == null) return '';
    if (Array.isArray(response)) {
      return response.map(function (p) { return typeof p === 'string' ? p : JSON.stringify(p); }).join('\n');
    }
    if (typeof response === 'object') {
      var choice = Array.isArray(response.choices) ? response.choices[0] : null;
      if (choice && choice.message) return contentText(choice.message.content);
      if ('content' in response) return contentText(response.content);
      if (Array.isArray(response.messages)) {
        var m = lastMessage(response.messages, 'assistant') || lastMessage(response.messages);
        return m ? contentText(m.content) : '';
      }
    }
    return JSON.stringify(response);
  }

  /* ---------- the model: columns, statuses and counts, computed once ---------- */

  function readData() {
    var node = $('gavel-data');
    var text = node ? node.textContent.trim() : '';
    if (text.charAt(0) !== '{') throw new Error('This page has no report data embedded in it.');
    var data = JSON.parse(text);
    // The parsed copy is all the page needs; dropping the text halves memory on big runs.
    node.textContent = '';
    return data;
  }

  function judgePrefix(key) {
    if (key.lastIndexOf(RESPONSE_JUDGED, 0) !== 0 && key.lastIndexOf(RETRIEVAL_JUDGED, 0) !== 0) return null;
    var cut = key.lastIndexOf('/');
    if (!JUDGE_FIELD_SET.has(key.slice(cut + 1))) return null;
    var prefix = key.slice(0, cut);
    return prefix === RESPONSE_JUDGED.slice(0, -1) || prefix === RETRIEVAL_JUDGED.slice(0, -1) ? null : prefix;
  }

  function newJudge(prefix, count) {
    var retrieval = prefix.lastIndexOf(RETRIEVAL_JUDGED, 0) === 0;
    var name = prefix.slice((retrieval ? RETRIEVAL_JUDGED : RESPONSE_JUDGED).length);
    var k = {};
    JUDGE_FIELDS.forEach(function (field) { k[field] = prefix + '/' + field; });
    return {
      prefix: prefix, name: name, label: name, retrieval: retrieval, keys: k,
      perChunk: false,              // set when a row has per-chunk ratings (chunk_relevance and the like)
      status: new Uint8Array(count),
      yes: 0, no: 0, errors: 0
    };
  }

  // Union of judge columns over all rows, in the order they first appear.
  function discoverColumns(rows) {
    var seen = new Set();
    var judges = [];
    var byPrefix = new Map();
    var extras = new Set();
    for (var i = 0; i < rows.length; i++) {
      for (var key in rows[i]) {
        if (seen.has(key)) continue;
        seen.add(key);
        var prefix = judgePrefix(key);
        if (prefix) {
          var judge = byPrefix.get(prefix);
          if (!judge) {
            judge = newJudge(prefix, rows.length);
            byPrefix.set(prefix, judge);
            judges.push(judge);
          }
          if (key === judge.keys.ratings || key === judge.keys.precision) judge.perChunk = true;
        }
        if (key.lastIndexOf('response/', 0) === 0 || key.lastIndexOf('retrieval/', 0) === 0 || key.lastIndexOf('agent/', 0) === 0) {
          extras.add(key);
        }
      }
    }
    // A response and a retrieval judge may share a name; only then say which is which.
    var names = new Map();
    judges.forEach(function (j) { names.set(j.name, (names.get(j.name) || 0) + 1); });
    judges.forEach(function (j) { if (names.get(j.name) > 1) j.label = (j.retrieval ? 'retrieval/' : 'response/') + j.name; });
    return {
      judges: judges,
      extras: EXTRA_COLUMNS.filter(function (c) { return extras.has(c.key); })
    };
  }

  function judgeStatus(row, judge) {
    var k = judge.keys;
    if (k.error_message in row) return ERROR;
    var chunkErrors = row[k.error_messages];
    if (Array.isArray(chunkErrors) && chunkErrors.some(function (e) { return e != null; })) return ERROR;
    var rating = row[k.rating];
    if (rating === 'yes') return YES;
    if (rating === 'no') return NO;
    var ratings = row[k.ratings];
    if (Array.isArray(ratings) && ratings.length) return ratings.indexOf('no') >= 0 ? NO : YES;
    return NONE;
  }

  // Row-level failures (bad input, agent) and a failed judgment anywhere count as an error.
  function rowHasError(row) {
    if ('error_message' in row || 'agent/error_message' in row) return true;
    for (var key in row) {
      if (key.length > 14 && key.lastIndexOf('/error_message') === key.length - 14) return true;
    }
    return false;
  }

  function buildModel(data) {
    var rows = Array.isArray(data.rows) ? data.rows : [];
    var n = rows.length;
    var columns = discoverColumns(rows);
    var overall = new Uint8Array(n);
    var hasError = new Uint8Array(n);
    var cause = new Int32Array(n).fill(-1);
    var causeIndex = new Map();
    var causes = [];
    var counts = { rows: n, passing: 0, failing: 0, errors: 0, unrated: 0 };
    var judges = columns.judges;

    for (var i = 0; i < n; i++) {
      var row = rows[i];
      var o = ratingStatus(row[OVERALL_RATING]);
      overall[i] = o;
      if (o === YES) counts.passing++; else if (o === NO) counts.failing++; else counts.unrated++;
      var err = rowHasError(row);
      for (var j = 0; j < judges.length; j++) {
        var judge = judges[j];
        var s = judgeStatus(row, judge);
        judge.status[i] = s;
        if (s === YES) judge.yes++; else if (s === NO) judge.no++; else if (s === ERROR) { judge.errors++; err = true; }
      }
      if (err) { hasError[i] = 1; counts.errors++; }
      var rc = row[ROOT_CAUSE];
      if (rc != null && rc !== '') {
        rc = String(rc);
        var idx = causeIndex.get(rc);
        if (idx === undefined) { idx = causes.length; causeIndex.set(rc, idx); causes.push({ name: rc, count: 0 }); }
        causes[idx].count++;
        cause[i] = idx;
      }
    }
    return {
      run: data.run && typeof data.run === 'object' ? data.run : {},
      alignment: data.alignment && typeof data.alignment === 'object' && Array.isArray(data.alignment.judges) ? data.alignment : null,
      alignmentStale: !!data.alignment_stale,
      metrics: data.metrics && typeof data.metrics === 'object' ? data.metrics : {},
      truncated: !!data.truncated,
      rows: rows,
      judges: judges,
      extras: columns.extras,
      overall: overall,
      hasError: hasError,
      cause: cause,
      causes: causes,
      counts: counts,
      hay: new Array(n),   // lower-cased searchable text, filled in the background
      hayDone: 0
    };
  }

  /* ---------- search index, built in slices after the first paint ---------- */

  function hayFor(row) {
    return (String(row.request_id == null ? '' : row.request_id) + '\n' + requestFullText(row.request) + '\n' +
      responseText(row.response)).toLowerCase();
  }

  function indexUpTo(end) {
    var rows = model.rows;
    end = Math.min(end, rows.length);
    for (var i = model.hayDone; i < end; i++) model.hay[i] = hayFor(rows[i]);
    if (end > model.hayDone) model.hayDone = end;
  }

  function indexInBackground() {
    if (model.hayDone >= model.rows.length) return;
    indexUpTo(model.hayDone + INDEX_SLICE);
    setTimeout(indexInBackground, 0);
  }

  /* ---------- header, counts, metrics ---------- */

  function metaItem(label, value, testid) {
    if (value == null || value === '') return null;
    return h('div', null, h('dt', null, label), h('dd', { testid: testid }, value));
  }

  function endpointsText(endpoints) {
    if (!endpoints || typeof endpoints !== 'object') return null;
    var names = Object.keys(endpoints);
    if (!names.length) return null;
    return names.map(function (name) {
      var e = endpoints[name] || {};
      return (names.length > 1 || name !== 'judge' ? name + ': ' : '') + (e.model || '?') + (e.base_url ? ' @ ' + e.base_url : '');
    }).join('; ');
  }

  function renderHeader() {
    var run = model.run;
    var id = run.run_id != null ? String(run.run_id) : '';
    var heading = run.name ? String(run.name) : (id ? 'Run ' + id : 'Evaluation report');
    $('title').textContent = heading;
    document.title = 'gavel: ' + heading;
    var rowsText = fmtInt(model.rows.length);
    if (isNum(run.rows) && run.rows !== model.rows.length) rowsText += ' of ' + fmtInt(run.rows);
    if (isNum(run.invalid_rows) && run.invalid_rows > 0) rowsText += ' (' + fmtInt(run.invalid_rows) + ' invalid)';
    $('run-meta').replaceChildren.apply($('run-meta'), [
      metaItem('Run id', id, 'meta-run-id'),
      run.name ? metaItem('Run name', String(run.name), 'meta-run-name') : null,
      metaItem('Dataset', run.dataset != null ? String(run.dataset) : null, 'meta-dataset'),
      metaItem('Started', run.started_at != null ? String(run.started_at) : null, 'meta-started'),
      metaItem('Status', run.status != null ? String(run.status) : null, 'meta-status'),
      metaItem('Judge models', endpointsText(run.endpoints), 'meta-endpoints'),
      metaItem('Rows', rowsText, 'meta-rows'),
      metaItem('gavel version', run.gavel_version != null ? String(run.gavel_version) : null, 'meta-version')
    ].filter(Boolean));
  }

  function renderNotices() {
    var box = $('notices');
    if (model.truncated) {
      var total = isNum(model.run.rows) ? ' of ' + fmtInt(model.run.rows) : '';
      box.append(h('div', { 'class': 'notice', role: 'note', testid: 'truncated-note' },
        'This report holds the first ' + fmtInt(model.rows.length) + total +
        ' rows. Counts, filters and the table cover those rows; the metrics cover the whole run. ' +
        'eval_results.jsonl in the run directory has every row.'));
    }
    if (model.run.status && model.run.status !== 'finished') {
      box.append(h('div', { 'class': 'notice', role: 'note', testid: 'status-note' },
        'The run\u2019s status is \u201c' + model.run.status + '\u201d: not every row has been evaluated. ' +
        'gavel eval with the same --out and --resume continues it.'));
    }
  }

  function setCount(id, value, sub) {
    var node = $(id);
    node.textContent = fmtInt(value);
    node.setAttribute('data-value', String(value));
    if (sub != null && $(id + '-sub')) $(id + '-sub').textContent = sub;
  }

  function renderCounts() {
    var c = model.counts;
    var rated = c.passing + c.failing;
    setCount('count-rows', c.rows, c.unrated ? fmtInt(c.unrated) + ' without an overall rating' : '');
    setCount('count-passing', c.passing, rated ? fmtPct(c.passing / rated) + ' of rated rows' : '');
    setCount('count-failing', c.failing, rated ? fmtPct(c.failing / rated) + ' of rated rows' : '');
    setCount('count-errors', c.errors);
  }

  // Names a metric by the judge it belongs to: response/llm_judged/x/rating/percentage -> x.
  function metricLabel(key) {
    if (key === OVERALL_RATING + '/percentage') return 'overall assessment';
    return key.replace(/^(response|retrieval)\/(llm_judged|ground_truth)\//, '')
      .replace(/^(response|retrieval)\//, '')
      .replace(/\/(rating\/percentage|precision\/average|average)$/, '');
  }

  function barClass(v) { return v < 0.5 ? 'low' : v < 0.8 ? 'mid' : 'high'; }

  function renderJudgeBars() {
    var metrics = model.metrics;
    var keys = Object.keys(metrics).filter(function (k) {
      return /\/rating\/percentage$|\/precision\/average$|\/document_recall\/average$/.test(k);
    });
    // The overall pass rate leads; the judges keep the order of metrics.json.
    keys.sort(function (a, b) { return (b === OVERALL_RATING + '/percentage') - (a === OVERALL_RATING + '/percentage'); });
    var box = $('judge-bars');
    $('judges-empty').hidden = keys.length > 0;
    keys.forEach(function (key) {
      var v = metrics[key];
      var base = key.replace(/\/(rating\/percentage|precision\/average|average)$/, '');
      var errorCount = metrics[base + '/error_count'];
      var label = metricLabel(key) + (/precision\/average$/.test(key) ? ' (precision)' : '');
      var fill = h('div', { 'class': 'fill' + (isNum(v) ? ' ' + barClass(v) : '') });
      fill.style.width = (isNum(v) ? Math.max(0, Math.min(1, v)) * 100 : 0) + '%';
      box.append(
        h('div', { 'class': 'name' + (key === OVERALL_RATING + '/percentage' ? ' overall' : ''), title: key }, breakable(label)),
        h('div', { 'class': 'track', role: 'img', 'aria-label': label + ': ' + fmtPct(v) }, fill),
        h('div', { 'class': 'num', testid: 'judge-metric', 'data-metric': key, 'data-value': v == null ? '' : String(v) },
          /precision|recall/.test(key) ? fmtFixed(v, 2) : fmtPct(v)),
        h('div', { 'class': 'errs' + (errorCount > 0 ? ' has' : '') },
          errorCount == null ? '' : fmtInt(errorCount) + (errorCount === 1 ? ' error' : ' errors'))
      );
      var scores = scoreStatistics(metrics, base + '/score');
      if (scores) box.append(scores);
    });
  }

  // A 1-5 score judge's score statistics, under its bar: <judge>/score/mean, /variance, /p90.
  function scoreStatistics(metrics, column) {
    if (!((column + '/mean') in metrics)) return null;
    var parts = [['mean', 'mean'], ['variance', 'variance'], ['p90', 'p90']].map(function (s) {
      var v = metrics[column + '/' + s[0]];
      return h('span', { 'data-stat': s[0], 'data-value': v == null ? '' : String(v) }, s[1] + ' ' + fmtFixed(v, 2));
    });
    return h('div', { 'class': 'score-stats', testid: 'judge-score', 'data-metric': column },
      'score: ', parts[0], ', ', parts[1], ', ', parts[2]);
  }

  function stat(label, value, testid) {
    return h('div', { 'class': 'stat' }, h('div', { 'class': 'label' }, label), h('div', { 'class': 'value', testid: testid }, value));
  }

  function renderCost() {
    var m = model.metrics;
    var run = model.run;
    var sessions = Array.isArray(run.sessions) ? run.sessions : [];
    var elapsed = sessions.reduce(function (sum, s) { return isNum(s && s.elapsed_seconds) ? sum + s.elapsed_seconds : sum; }, 0);
    var cached = sessions.reduce(function (sum, s) { return isNum(s && s.llm_calls_cached) ? sum + s.llm_calls_cached : sum; }, 0);
    var items = [
      stat('Judge LLM calls', fmtInt(m['judge/llm_call_count']), 'cost-judge-calls'),
      stat('Judge tokens', fmtInt(m['judge/total_token_count']), 'cost-judge-tokens')
    ];
    if (sessions.length) {
      items.push(stat('Calls answered from cache', fmtInt(cached), 'cost-cached'));
      items.push(stat('Run time', fmtSeconds(elapsed), 'cost-elapsed'));
    }
    var agent = [
      ['agent/latency_seconds/average', 'Agent latency (avg)', fmtSeconds],
      ['agent/total_token_count/average', 'Agent tokens (avg)', fmtAvgInt],
      ['agent/input_token_count/average', 'Agent input tokens (avg)', fmtAvgInt],
      ['agent/output_token_count/average', 'Agent output tokens (avg)', fmtAvgInt],
      ['agent/error_count', 'Agent errors', fmtInt],
      ['response/token_count/average', 'Response tokens (avg)', fmtAvgInt]
    ];
    agent.forEach(function (a) {
      if (a[0] in m) items.push(stat(a[1], a[2](m[a[0]]), 'cost-' + a[0].replace(/\//g, '-')));
    });
    $('cost-stats').replaceChildren.apply($('cost-stats'), items);

    // judge/<name>/llm_call_count and judge/<name>/total_token_count, one line per judge.
    var perJudge = new Map();
    Object.keys(m).forEach(function (key) {
      var match = /^judge\/(.+)\/(llm_call_count|total_token_count)$/.exec(key);
      if (!match) return;
      if (!perJudge.has(match[1])) perJudge.set(match[1], {});
      perJudge.get(match[1])[match[2]] = m[key];
    });
    var body = $('cost-table').tBodies[0];
    perJudge.forEach(function (v, name) {
      body.append(h('tr', { testid: 'cost-row' }, h('td', null, breakable(name)),
        h('td', { 'class': 'num' }, fmtInt(v.llm_call_count)), h('td', { 'class': 'num' }, fmtInt(v.total_token_count))));
    });
    $('cost-table').hidden = perJudge.size === 0;
  }

  function renderMetricsTable() {
    var m = model.metrics;
    var keys = Object.keys(m);
    $('metrics-summary').textContent = 'All metrics (' + keys.length + ')';
    var body = $('metrics-table').tBodies[0];
    keys.forEach(function (key) {
      body.append(h('tr', { testid: 'metric-row', 'data-metric': key },
        h('th', { scope: 'row', 'class': 'mono' }, key), h('td', { 'class': 'num' }, fmtMetric(key, m[key]))));
    });
  }

  function renderRunConfig() {
    var run = model.run;
    var box = $('run-config');
    var judges = Array.isArray(run.judges) ? run.judges : [];
    if (judges.length) {
      var cols = ['name', 'plugin', 'version', 'source', 'threshold'];
      box.append(h('table', { 'class': 'plain' },
        h('thead', null, h('tr', null, cols.map(function (c) { return h('th', { scope: 'col' }, c); }))),
        h('tbody', null, judges.map(function (j) {
          return h('tr', null, cols.map(function (c) { return h('td', null, j && j[c] != null ? String(j[c]) : DASH); }));
        }))));
    }
    var rest = {};
    Object.keys(run).forEach(function (k) { if (k !== 'judges') rest[k] = run[k]; });
    box.append(h('h3', null, 'run.json'), h('pre', { 'class': 'json' }, json(rest)));
  }

  /* ---------- agreement with human labels (alignment.json, written by gavel align) ---------- */

  var ALIGN_STATS = [
    ['accuracy', 'Accuracy'], ['kappa', 'Cohen\u2019s kappa'], ['precision', 'Precision'], ['recall', 'Recall'],
    ['f1', 'F1'], ['false_positive_rate', 'False-positive rate'], ['false_negative_rate', 'False-negative rate']
  ];
  var SCORE_STATS = [
    ['weighted_kappa', 'Weighted kappa (quadratic)'], ['exact_agreement', 'Same score'], ['within_one_agreement', 'Within one point']
  ];

  // Three decimals; a rounding error just below zero shows as 0.000, not -0.000.
  function fixed3(v) { var t = v.toFixed(3); return t === '-0.000' ? '0.000' : t; }
  function estimateValue(e) { return e && isNum(e.value) ? fixed3(e.value) : DASH; }
  function estimateInterval(e) {
    return e && isNum(e.low) && isNum(e.high) ? fixed3(e.low) + '\u2013' + fixed3(e.high) : DASH;
  }

  function estimateTable(judge, stats, testid) {
    return h('table', { 'class': 'plain', testid: testid },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Statistic'), h('th', { scope: 'col', 'class': 'num' }, 'Value'),
        h('th', { scope: 'col', 'class': 'num' }, '95% interval'))),
      h('tbody', null, stats.map(function (s) {
        var e = judge[s[0]];
        return h('tr', { 'data-stat': s[0] }, h('th', { scope: 'row' }, s[1]), h('td', { 'class': 'num' }, estimateValue(e)),
          h('td', { 'class': 'num interval' }, estimateInterval(e)));
      })));
  }

  function confusionTable(c) {
    c = c || {};
    return h('table', { 'class': 'plain confusion', testid: 'alignment-confusion' },
      h('thead', null, h('tr', null, h('th', null, ''), h('th', { scope: 'col', 'class': 'num' }, 'humans yes'),
        h('th', { scope: 'col', 'class': 'num' }, 'humans no'))),
      h('tbody', null,
        h('tr', null, h('th', { scope: 'row' }, 'judge yes'), h('td', { 'class': 'num' }, fmtInt(c.true_positive)),
          h('td', { 'class': 'num' }, fmtInt(c.false_positive))),
        h('tr', null, h('th', { scope: 'row' }, 'judge no'), h('td', { 'class': 'num' }, fmtInt(c.false_negative)),
          h('td', { 'class': 'num' }, fmtInt(c.true_negative)))));
  }

  function thresholdTable(judge) {
    var cols = ['kappa', 'accuracy', 'precision', 'recall', 'f1', 'false_positive_rate', 'false_negative_rate'];
    return h('table', { 'class': 'plain', testid: 'alignment-thresholds' },
      h('caption', { 'class': 'muted' }, 'Yes when the judge\u2019s score is above the threshold (its threshold in this run: ' +
        String(judge.threshold) + ').'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Threshold'),
        cols.map(function (c) { return h('th', { scope: 'col', 'class': 'num' }, c.replace(/_/g, ' ')); }))),
      h('tbody', null, judge.thresholds.map(function (t) {
        return h('tr', { 'class': t.threshold === judge.best_threshold ? 'best' : null },
          h('td', null, String(t.threshold) + (t.threshold === judge.best_threshold ? ' (best kappa)' : '')),
          cols.map(function (c) { return h('td', { 'class': 'num' }, isNum(t[c]) ? fixed3(t[c]) : DASH); }));
      })));
  }

  // Opens a disagreeing request in the detail view, clearing filters that would hide it.
  function showRequest(requestId, opener) {
    var index = -1;
    for (var i = 0; i < model.rows.length && index < 0; i++) {
      if (String(model.rows[i].request_id) === requestId) index = i;
    }
    if (index < 0) return;
    if (view.filtered.indexOf(index) < 0) clearFilters();
    openDetail(view.filtered.indexOf(index), opener);
  }

  function disagreementTable(judge) {
    var said = function (rating, score) { return [badge(ratingStatus(rating), rating), isNum(score) ? h('span', { 'class': 'score' }, String(score)) : null]; };
    return h('table', { 'class': 'plain', testid: 'alignment-disagreements' },
      h('thead', null, h('tr', null, ['request_id', 'Judge', 'Humans', 'Human rationale', 'Judge rationale'].map(function (c) {
        return h('th', { scope: 'col' }, c);
      }))),
      h('tbody', null, judge.disagreements.map(function (d) {
        var id = String(d.request_id);
        var link = h('button', { type: 'button', 'class': 'rowlink', title: 'Show this request' }, id);
        link.addEventListener('click', function () { showRequest(id, link); });
        return h('tr', { testid: 'alignment-disagreement' }, h('td', null, link),
          h('td', null, said(d.judge_rating, d.judge_score)), h('td', null, said(d.human_rating, d.human_label)),
          h('td', { 'class': 'rationale' }, d.human_rationale == null ? DASH : String(d.human_rationale)),
          h('td', { 'class': 'rationale' }, d.judge_rationale == null ? DASH : preview(d.judge_rationale, TEXT_PREVIEW)));
      })));
  }

  function renderAlignment() {
    var a = model.alignment;
    if (!a) return;
    $('alignment').hidden = false;
    var notes = $('alignment-notes');
    if (model.alignmentStale) {
      notes.append(h('div', { 'class': 'notice', role: 'note', testid: 'alignment-stale' },
        'The results changed after these labels were compared (the run was resumed): run gavel align again.'));
    }
    var b = a.bootstrap || {};
    var source = 'Labels: ' + String(a.labels) + '. Yes is the positive class: a false positive is a response the judge ' +
      'passed and the humans failed. ' + (b.resamples > 0 ? '95% intervals from ' + fmtInt(b.resamples) +
      ' bootstrap resamples (seed ' + String(b.seed) + ').' : 'No intervals (no bootstrap resamples).');
    var unmatched = Array.isArray(a.unmatched_requests) ? a.unmatched_requests.length : 0;
    if (unmatched) source += ' ' + fmtInt(unmatched) + ' labelled requests are not in this run.';
    notes.append(h('p', { 'class': 'muted', testid: 'alignment-source' }, source));
    var body = $('alignment-table').tBodies[0];
    var details = $('alignment-judges');
    a.judges.forEach(function (j) {
      body.append(h('tr', { testid: 'alignment-row', 'data-judge': String(j.judge) },
        h('th', { scope: 'row' }, breakable(j.judge)), h('td', { 'class': 'num' }, fmtInt(j.n)),
        ALIGN_STATS.map(function (s) {
          return h('td', { 'class': 'num' + (s[0] === 'kappa' ? ' kappa' : ''), 'data-stat': s[0], title: '95% interval ' + estimateInterval(j[s[0]]) },
            estimateValue(j[s[0]]));
        })));
      var left = j.left_out || {};
      var parts = [
        h('div', null, h('h3', null, 'Statistics'), estimateTable(j, ALIGN_STATS, 'alignment-stats')),
        h('div', null, h('h3', null, 'Confusion matrix'), confusionTable(j.confusion),
          h('p', { 'class': 'muted' }, fmtInt(j.n) + ' rows compared; left out: ' + fmtInt(left.judge_error) +
            ' the judge failed on, ' + fmtInt(left.not_judged) + ' it did not run on; ' + fmtInt(left.unlabelled) +
            ' rated rows have no label.'))
      ];
      if (j.scores) {
        parts.push(h('div', null, h('h3', null, '1-5 scores (' + fmtInt(j.scores.n) + ' rows)'),
          estimateTable(j.scores, SCORE_STATS, 'alignment-scores')));
      }
      var inner = [h('div', { 'class': 'align-grid' }, parts)];
      if (Array.isArray(j.thresholds) && j.thresholds.length) inner.push(h('h3', null, 'Thresholds'), thresholdTable(j));
      if (Array.isArray(j.disagreements) && j.disagreements.length) {
        inner.push(h('h3', null, 'Disagreements (' + fmtInt(j.disagreements.length) + ')'), disagreementTable(j));
      }
      details.append(h('details', { 'class': 'align-judge', testid: 'alignment-judge', 'data-judge': String(j.judge) },
        h('summary', null, String(j.judge) + ': kappa ' + estimateValue(j.kappa) + ' on ' + fmtInt(j.n) + ' rows'), inner));
    });
  }

  /* ---------- results table ---------- */

  function renderTableHead() {
    var cells = [
      h('th', { scope: 'col', 'class': 'col-id' }, 'request_id'),
      h('th', { scope: 'col', 'class': 'col-text' }, 'request'),
      h('th', { scope: 'col', 'class': 'col-text' }, 'response'),
      h('th', { scope: 'col' }, 'overall'),
      h('th', { scope: 'col' }, 'root cause')
    ];
    model.judges.forEach(function (j) {
      cells.push(h('th', { scope: 'col', title: j.prefix + (j.perChunk ? ' (precision)' : ''), testid: 'judge-column', 'data-judge': j.label },
        breakable(j.label)));
    });
    model.extras.forEach(function (c) { cells.push(h('th', { scope: 'col', title: c.key }, c.label)); });
    $('results-head').replaceChildren.apply($('results-head'), cells);
  }

  function skippedReason(row, judge) {
    var skipped = row.skipped_judges;
    if (!skipped || typeof skipped !== 'object') return null;
    var reason = skipped[judge.name];
    if (reason == null) reason = skipped[judge.name.split('/')[0]];
    return reason == null ? null : String(reason);
  }

  function judgeCell(row, i, judge) {
    var status = judge.status[i];
    var k = judge.keys;
    if (status === NONE && !(k.precision in row)) {
      var reason = skippedReason(row, judge);
      return h('td', { 'class': 'judge na', title: reason ? 'skipped: ' + reason : 'not run' }, DASH);
    }
    if (status === ERROR) {
      var message = row[k.error_message];
      if (message == null && Array.isArray(row[k.error_messages])) {
        message = row[k.error_messages].filter(function (e) { return e != null; }).join('\n');
      }
      return h('td', { 'class': 'judge', title: preview(message == null ? 'error' : message, 400) }, badge(ERROR));
    }
    if (judge.perChunk && (k.precision in row || k.ratings in row)) {
      var ratings = Array.isArray(row[k.ratings]) ? row[k.ratings] : [];
      var yes = ratings.filter(function (r) { return r === 'yes'; }).length;
      return h('td', { 'class': 'judge', title: 'precision; chunk ratings: ' + ratings.map(function (r) { return r == null ? DASH : r; }).join(', ') },
        badge(status, fmtFixed(row[k.precision], 2)), ratings.length ? h('span', { 'class': 'score' }, yes + '/' + ratings.length) : null);
    }
    var score = row[k.score];
    return h('td', { 'class': 'judge' }, badge(status), isNum(score) ? h('span', { 'class': 'score', title: 'score' }, String(score)) : null);
  }

  function extraCell(row, column) {
    var v = row[column.key];
    if (v == null) return h('td', { 'class': 'na' }, DASH);
    if (column.kind === 'rating') return h('td', { 'class': 'judge' }, badge(ratingStatus(v), String(v)));
    return h('td', { 'class': 'num' }, fmtKind(column.kind, v));
  }

  function buildRow(i) {
    var row = model.rows[i];
    var id = row.request_id == null ? String(i) : String(row.request_id);
    var request = requestSummary(row.request);
    var response = responseText(row.response);
    var overall = model.overall[i];
    var rc = row[ROOT_CAUSE];
    var rowError = row.error_message != null ? row.error_message : row['agent/error_message'];
    var tr = h('tr', { testid: 'result-row', 'data-index': i, 'data-request-id': id, 'data-overall': STATUS_NAME[overall] },
      h('td', { 'class': 'col-id' }, h('button', { type: 'button', 'class': 'rowlink', testid: 'row-open' }, id)),
      h('td', { 'class': 'col-text', title: preview(request, 1000) }, h('div', { 'class': 'clip' }, preview(request, TEXT_PREVIEW))),
      h('td', { 'class': 'col-text', title: preview(response, 1000) },
        h('div', { 'class': 'clip' }, rowError != null && !response ? h('span', { 'class': 'error-text' }, preview(rowError, TEXT_PREVIEW)) : preview(response, TEXT_PREVIEW))),
      h('td', null, overall === NONE ? (model.hasError[i] ? badge(ERROR) : h('span', { 'class': 'na' }, DASH)) : badge(overall)),
      h('td', null, rc == null ? h('span', { 'class': 'na' }, DASH) : breakable(String(rc)))
    );
    for (var j = 0; j < model.judges.length; j++) tr.append(judgeCell(row, i, model.judges[j]));
    for (var e = 0; e < model.extras.length; e++) tr.append(extraCell(row, model.extras[e]));
    return tr;
  }

  function pageCount() { return Math.max(1, Math.ceil(view.filtered.length / PAGE_SIZE)); }

  function renderPage() {
    var body = $('results-body');
    var start = view.page * PAGE_SIZE;
    var end = Math.min(view.filtered.length, start + PAGE_SIZE);
    var frag = document.createDocumentFragment();
    for (var p = start; p < end; p++) frag.append(buildRow(view.filtered[p]));
    if (end === start) {
      var span = 5 + model.judges.length + model.extras.length;
      frag.append(h('tr', { 'class': 'empty', testid: 'no-results' }, h('td', { colspan: span },
        model.rows.length ? 'No rows match these filters.' : 'This run has no rows.')));
    }
    body.replaceChildren(frag);
    // Setting scrollTop forces a layout, so it is only done when the user has scrolled.
    if (view.tableScrolled) { $('table-wrap').scrollTop = 0; view.tableScrolled = false; }
    var pages = pageCount();
    $('page-info').textContent = view.filtered.length
      ? 'Rows ' + fmtInt(start + 1) + '–' + fmtInt(end) + ' of ' + fmtInt(view.filtered.length) + ' · page ' + (view.page + 1) + ' of ' + pages
      : '';
    $('page-first').disabled = $('page-prev').disabled = view.page === 0;
    $('page-next').disabled = $('page-last').disabled = view.page >= pages - 1;
    $('shown-count').textContent = fmtInt(view.filtered.length);
    $('shown-count').setAttribute('data-value', String(view.filtered.length));
  }

  function goToPage(page) {
    view.page = Math.max(0, Math.min(pageCount() - 1, page));
    renderPage();
  }

  /* ---------- filters: one pass over typed arrays, then one page of DOM ---------- */

  function applyFilters() {
    var n = model.rows.length;
    var needle = view.search.trim().toLowerCase();
    if (needle) indexUpTo(n);   // a search before the background index finishes completes it now
    var judgeStatus = view.judge >= 0 ? model.judges[view.judge].status : null;
    var out = [];
    for (var i = 0; i < n; i++) {
      if (view.failingOnly && model.overall[i] !== NO) continue;
      if (view.errorsOnly && !model.hasError[i]) continue;
      if (judgeStatus && judgeStatus[i] < NO) continue;
      if (view.cause >= 0 && model.cause[i] !== view.cause) continue;
      if (needle && model.hay[i].indexOf(needle) < 0) continue;
      out.push(i);
    }
    view.filtered = out;
    view.page = 0;
    renderPage();
    document.documentElement.removeAttribute('data-pending');
  }

  function fillFilterOptions() {
    var judgeSelect = $('f-judge');
    model.judges.forEach(function (j, idx) {
      var failing = j.no + j.errors;
      judgeSelect.append(h('option', { value: String(idx), 'data-judge': j.label },
        j.label + ' (' + fmtInt(j.no) + ' no' + (j.errors ? ', ' + fmtInt(j.errors) + ' errors' : '') + ')'));
      if (!failing) judgeSelect.lastChild.textContent = j.label + ' (all yes)';
    });
    var causeSelect = $('f-cause');
    model.causes.slice().sort(function (a, b) { return b.count - a.count || (a.name < b.name ? -1 : 1); })
      .forEach(function (c) {
        causeSelect.append(h('option', { value: c.name }, c.name + ' (' + fmtInt(c.count) + ')'));
      });
    $('total-count').textContent = fmtInt(model.rows.length);
  }

  function readFilterControls() {
    view.search = $('f-search').value;
    view.judge = $('f-judge').value === '' ? -1 : Number($('f-judge').value);
    var causeName = $('f-cause').value;
    view.cause = -1;
    model.causes.forEach(function (c, idx) { if (c.name === causeName) view.cause = idx; });
    view.failingOnly = $('f-failing').checked;
    view.errorsOnly = $('f-errors').checked;
  }

  function onFilterChange() {
    clearTimeout(searchTimer);
    readFilterControls();
    applyFilters();
  }

  // Typing waits for a pause; the attribute lets tests know a filter is still to come.
  function onSearchInput() {
    document.documentElement.setAttribute('data-pending', 'search');
    clearTimeout(searchTimer);
    searchTimer = setTimeout(onFilterChange, SEARCH_DELAY_MS);
  }

  function clearFilters() {
    $('f-search').value = '';
    $('f-judge').value = '';
    $('f-cause').value = '';
    $('f-failing').checked = false;
    $('f-errors').checked = false;
    onFilterChange();
  }

  /* ---------- detail view ---------- */

  function section(title, testid) {
    var box = h('section', { testid: testid });
    box.append(h('h3', null, title));
    for (var i = 2; i < arguments.length; i++) appendKids(box, [arguments[i]]);
    return box;
  }

  function textBlock(value, testid) {
    if (typeof value === 'string') return h('pre', { 'class': 'text', testid: testid }, value);
    return h('pre', { 'class': 'json', testid: testid }, json(value));
  }

  function renderMessages(messages) {
    return h('ol', { 'class': 'messages' }, messages.map(function (m) {
      var role = m && m.role != null ? String(m.role) : 'message';
      return h('li', { 'class': role }, h('div', { 'class': 'role' }, role),
        h('div', { 'class': 'rationale' }, m && typeof m === 'object' ? contentText(m.content) : JSON.stringify(m)));
    }));
  }

  function requestView(request) {
    if (request && typeof request === 'object' && Array.isArray(request.messages)) {
      var rest = {};
      Object.keys(request).forEach(function (k) { if (k !== 'messages') rest[k] = request[k]; });
      return [renderMessages(request.messages), Object.keys(rest).length ? h('pre', { 'class': 'json' }, json(rest)) : null];
    }
    if (request == null) return h('p', { 'class': 'muted' }, 'No request.');
    return textBlock(request);
  }

  function responseView(response) {
    if (typeof response === 'string' || response == null) return textBlock(response == null ? '' : response);
    return [h('pre', { 'class': 'text' }, responseText(response)),
      h('details', null, h('summary', { 'class': 'muted' }, 'As given'), h('pre', { 'class': 'json' }, json(response)))];
  }

  function listView(items) {
    return h('ul', { 'class': 'list' }, items.map(function (x) { return h('li', null, typeof x === 'string' ? x : JSON.stringify(x)); }));
  }

  // guidelines: a list, or named groups of lists (each group judged on its own).
  function guidelinesView(guidelines) {
    if (Array.isArray(guidelines)) return listView(guidelines);
    if (guidelines && typeof guidelines === 'object') {
      return Object.keys(guidelines).map(function (group) {
        var items = guidelines[group];
        return [h('div', { 'class': 'muted' }, group), Array.isArray(items) ? listView(items) : textBlock(items)];
      });
    }
    return textBlock(guidelines);
  }

  function chunkParts(chunk) {
    if (typeof chunk === 'string') return { content: chunk, uri: null };
    if (chunk && typeof chunk === 'object') {
      return { content: chunk.content != null ? chunk.content : (chunk.page_content != null ? chunk.page_content : ''), uri: chunk.doc_uri };
    }
    return { content: JSON.stringify(chunk), uri: null };
  }

  function at(list, i) { return Array.isArray(list) ? list[i] : undefined; }

  function chunksView(row, chunks, chunkJudges, take) {
    chunkJudges.forEach(function (j) { ['ratings', 'rationales', 'scores', 'error_messages'].forEach(function (f) { take(j.keys[f]); }); });
    return chunks.map(function (chunk, i) {
      var c = chunkParts(chunk);
      var verdicts = chunkJudges.map(function (j) {
        var k = j.keys;
        var rating = at(row[k.ratings], i);
        var error = at(row[k.error_messages], i);
        var rationale = at(row[k.rationales], i);
        var score = at(row[k.scores], i);
        return h('div', { 'class': 'chunk-judge', testid: 'chunk-judge', 'data-judge': j.label },
          h('strong', null, j.label), error != null ? badge(ERROR) : badge(ratingStatus(rating), rating == null ? DASH : String(rating)),
          isNum(score) ? h('span', { 'class': 'score' }, 'score ' + score) : null,
          rationale != null ? h('span', { 'class': 'rationale' }, String(rationale)) : null,
          error != null ? h('span', { 'class': 'error-text' }, String(error)) : null);
      });
      return h('div', { 'class': 'chunk', testid: 'detail-chunk' },
        h('div', { 'class': 'chunk-head' }, h('strong', null, 'Chunk ' + (i + 1)), c.uri != null ? h('code', null, String(c.uri)) : null),
        h('div', { 'class': 'rationale' }, typeof c.content === 'string' ? c.content : json(c.content)),
        verdicts.length ? h('div', { 'class': 'chunk-judges' }, verdicts) : null);
    });
  }

  function judgesView(row, i, judges, take) {
    var known = ['rating', 'score', 'rationale', 'error_message', 'precision', 'llm_call_count', 'total_token_count'];
    var body = judges.map(function (j) {
      var k = j.keys;
      var status = ratingStatus(row[k.rating]);
      if (k.error_message in row) status = ERROR;
      var ratingCell;
      if (j.perChunk && (k.precision in row)) {
        var chunkStatus = j.status[i];
        ratingCell = [chunkStatus === ERROR ? badge(ERROR) : null,
          badge(chunkStatus === ERROR ? NONE : chunkStatus, 'precision ' + fmtFixed(row[k.precision], 2))];
      } else {
        ratingCell = [badge(status, status === ERROR ? 'error' : row[k.rating] == null ? DASH : String(row[k.rating]))];
      }
      // Fields a future judge adds are still shown, under its name.
      var others = Object.keys(row).filter(function (key) {
        return key.lastIndexOf(j.prefix + '/', 0) === 0 && key.indexOf('/', j.prefix.length + 1) < 0 &&
          !JUDGE_FIELD_SET.has(key.slice(j.prefix.length + 1));
      });
      known.forEach(function (f) { take(k[f]); });
      others.forEach(take);
      return h('tr', { testid: 'detail-judge', 'data-judge': j.label },
        h('th', { scope: 'row', title: j.prefix }, breakable(j.label)),
        h('td', null, ratingCell),
        h('td', { 'class': 'num' }, row[k.score] == null ? DASH : String(row[k.score])),
        h('td', null,
          row[k.rationale] != null ? h('div', { 'class': 'rationale' }, String(row[k.rationale])) : null,
          row[k.error_message] != null ? h('div', { 'class': 'error-text' }, String(row[k.error_message])) : null,
          j.perChunk ? h('div', { 'class': 'muted' }, 'Per-chunk ratings are under Retrieved context.') : null,
          others.map(function (key) { return h('div', { 'class': 'muted' }, key.slice(j.prefix.length + 1) + ': ' + JSON.stringify(row[key])); })),
        h('td', { 'class': 'num' }, fmtInt(row[k.llm_call_count])),
        h('td', { 'class': 'num' }, fmtInt(row[k.total_token_count])));
    });
    return h('table', { 'class': 'plain' },
      h('thead', null, h('tr', null, ['Judge', 'Rating', 'Score', 'Rationale', 'LLM calls', 'Tokens'].map(function (c, i) {
        return h('th', { scope: 'col', 'class': i === 2 || i > 3 ? 'num' : null }, c);
      }))),
      h('tbody', null, body));
  }

  function kvTable(pairs) {
    return h('table', { 'class': 'kv' }, h('tbody', null, pairs.map(function (p) {
      return h('tr', null, h('th', { scope: 'row', 'class': 'mono' }, p[0]), h('td', null, p[1]));
    })));
  }

  function buildDetail(i) {
    var row = model.rows[i];
    var used = new Set();
    function take(key) { used.add(key); return row[key]; }
    function has(key) { return key in row; }
    var parts = [];

    var errors = [];
    if (has('error_message')) errors.push(['error_message', String(take('error_message'))]);
    if (has('agent/error_message')) errors.push(['agent/error_message', String(take('agent/error_message'))]);
    if (errors.length) {
      parts.push(section('Errors', 'detail-errors', kvTable(errors.map(function (e) { return [e[0], h('span', { 'class': 'error-text' }, e[1])]; }))));
    }

    if (has(OVERALL_RATING) || has(ROOT_CAUSE) || has(OVERALL_RATIONALE)) {
      var rating = take(OVERALL_RATING);
      var rc = take(ROOT_CAUSE);
      parts.push(section('Overall assessment', 'detail-overall',
        h('div', { 'class': 'overall-box' }, badge(ratingStatus(rating), rating == null ? DASH : String(rating)),
          rc != null ? h('span', null, 'root cause: ', h('strong', { testid: 'detail-root-cause' }, String(rc))) : null),
        take(OVERALL_RATIONALE) != null ? h('p', { 'class': 'rationale' }, String(row[OVERALL_RATIONALE])) : null));
    }

    take('request_id');
    parts.push(section('Request', 'detail-request', requestView(take('request'))));
    if (has('response')) parts.push(section('Response', 'detail-response', responseView(take('response'))));
    if (has('expected_response')) parts.push(section('Expected response', 'detail-expected-response', textBlock(take('expected_response'))));
    if (has('expected_facts')) {
      var facts = take('expected_facts');
      parts.push(section('Expected facts', 'detail-expected-facts', Array.isArray(facts) ? listView(facts) : textBlock(facts)));
    }
    if (has('guidelines')) parts.push(section('Guidelines', 'detail-guidelines', guidelinesView(take('guidelines'))));

    var present = model.judges.filter(function (j) {
      return Object.keys(j.keys).some(function (f) { return j.keys[f] in row; });
    });
    var chunkJudges = present.filter(function (j) { return j.perChunk && (j.keys.ratings in row || j.keys.rationales in row || j.keys.error_messages in row); });
    if (present.length) parts.push(section('Judges', 'detail-judges', judgesView(row, i, present, take)));

    var skipped = take('skipped_judges');
    if (skipped && typeof skipped === 'object') {
      parts.push(section('Skipped judges', 'detail-skipped', kvTable(Object.keys(skipped).map(function (name) {
        return [name, String(skipped[name])];
      }))));
    }

    if (has('retrieved_context')) {
      var chunks = take('retrieved_context');
      parts.push(section('Retrieved context', 'detail-context', Array.isArray(chunks)
        ? (chunks.length ? chunksView(row, chunks, chunkJudges, take) : h('p', { 'class': 'muted' }, 'No chunks.'))
        : textBlock(chunks)));
    }
    if (has('expected_retrieved_context')) {
      var expected = take('expected_retrieved_context');
      parts.push(section('Expected retrieved context', 'detail-expected-context', Array.isArray(expected)
        ? listView(expected.map(function (c) { return c && typeof c === 'object' && c.doc_uri != null && Object.keys(c).length === 1 ? String(c.doc_uri) : c; }))
        : textBlock(expected)));
    }

    var measures = EXTRA_COLUMNS.filter(function (c) { return c.key.lastIndexOf('agent/', 0) !== 0 && has(c.key); });
    if (measures.length) {
      parts.push(section('Deterministic metrics', 'detail-deterministic', kvTable(measures.map(function (c) {
        var v = take(c.key);
        return [c.key, c.kind === 'rating' ? badge(ratingStatus(v), v == null ? DASH : String(v)) : fmtKind(c.kind, v)];
      }))));
    }

    var agentKeys = Object.keys(row).filter(function (k) { return k.lastIndexOf('agent/', 0) === 0 && !used.has(k); });
    if (agentKeys.length) {
      parts.push(section('Agent', 'detail-agent', kvTable(agentKeys.map(function (k) {
        var v = take(k);
        return [k, k === 'agent/latency_seconds' ? fmtSeconds(v) : typeof v === 'string' ? v : JSON.stringify(v)];
      }))));
    }

    var other = Object.keys(row).filter(function (k) { return !used.has(k); });
    if (other.length) {
      parts.push(section('Other fields', 'detail-other', kvTable(other.map(function (k) {
        return [k, h('pre', { 'class': 'json' }, json(row[k]))];
      }))));
    }
    return parts;
  }

  function openDetail(pos, opener) {
    if (pos < 0 || pos >= view.filtered.length) return;
    var i = view.filtered[pos];
    var row = model.rows[i];
    view.detailPos = pos;
    if (opener) view.opener = opener;
    var dialog = $('detail');
    dialog.setAttribute('data-request-id', row.request_id == null ? String(i) : String(row.request_id));
    $('detail-title').textContent = 'Request ' + (row.request_id == null ? '#' + (i + 1) : String(row.request_id));
    $('detail-pos').textContent = fmtInt(pos + 1) + ' of ' + fmtInt(view.filtered.length);
    $('detail-prev').disabled = pos === 0;
    $('detail-next').disabled = pos >= view.filtered.length - 1;
    var body = $('detail-body');
    body.replaceChildren.apply(body, buildDetail(i));
    body.scrollTop = 0;
    if (!dialog.open) dialog.showModal();
    dialog.scrollTop = 0;
  }

  function closeDetail() {
    var dialog = $('detail');
    if (dialog.open) dialog.close();
  }

  function onDetailClosed() {
    view.detailPos = -1;
    // Keep the keyboard user where they were: back on the row they opened, if it is still on the page.
    var opener = view.opener;
    view.opener = null;
    if (opener && opener.isConnected) opener.focus();
  }

  function onTableClick(event) {
    if (window.getSelection && String(window.getSelection()).length && !event.target.closest('button')) return;
    var tr = event.target.closest('tr[data-index]');
    if (!tr) return;
    var index = Number(tr.getAttribute('data-index'));
    var pos = view.filtered.indexOf(index, view.page * PAGE_SIZE);
    openDetail(pos, tr.querySelector('button.rowlink'));
  }

  /* ---------- wiring ---------- */

  function wireEvents() {
    $('f-search').addEventListener('input', onSearchInput);
    $('f-search').addEventListener('keydown', function (e) { if (e.key === 'Enter') onFilterChange(); });
    ['f-judge', 'f-cause', 'f-failing', 'f-errors'].forEach(function (id) { $(id).addEventListener('change', onFilterChange); });
    $('f-clear').addEventListener('click', clearFilters);
    $('page-first').addEventListener('click', function () { goToPage(0); });
    $('page-prev').addEventListener('click', function () { goToPage(view.page - 1); });
    $('page-next').addEventListener('click', function () { goToPage(view.page + 1); });
    $('page-last').addEventListener('click', function () { goToPage(pageCount() - 1); });
    $('results-body').addEventListener('click', onTableClick);
    $('table-wrap').addEventListener('scroll', function () { view.tableScrolled = true; }, { passive: true });
    $('detail-close').addEventListener('click', closeDetail);
    $('detail-prev').addEventListener('click', function () { openDetail(view.detailPos - 1); });
    $('detail-next').addEventListener('click', function () { openDetail(view.detailPos + 1); });
    $('detail').addEventListener('close', onDetailClosed);
    // A click on the backdrop lands on the dialog element itself.
    $('detail').addEventListener('click', function (e) { if (e.target === this) closeDetail(); });
    // Printing shows the collapsed sections too.
    window.addEventListener('beforeprint', function () {
      document.querySelectorAll('details').forEach(function (d) { d.open = true; });
    });
  }

  function showFatal(error) {
    document.documentElement.setAttribute('data-error', 'true');
    $('notices').replaceChildren(h('div', { 'class': 'notice fatal', role: 'alert', testid: 'fatal' },
      'The report could not be shown: ' + (error && error.message ? error.message : String(error))));
  }

  // Start-up runs as separate tasks (parse, model, first page) so that, with 10,000 rows,
  // no single task keeps the page from responding for long.
  function main() {
    var t0 = performance.now();
    var data;
    try {
      data = readData();
    } catch (error) {
      showFatal(error);
      throw error;
    }
    performance.measure('gavel:parse', { start: t0, end: performance.now() });
    setTimeout(function () { stage('gavel:model', function () { buildPage(data); data = null; }); }, 0);
  }

  function buildPage(data) {
    model = buildModel(data);
    renderHeader();
    renderNotices();
    renderCounts();
    renderJudgeBars();
    renderCost();
    renderAlignment();
    renderMetricsTable();
    renderRunConfig();
    renderTableHead();
    fillFilterOptions();
    wireEvents();
    setTimeout(function () { stage('gavel:first-page', showFirstPage); }, 0);
  }

  function showFirstPage() {
    view.filtered = Array.from({ length: model.rows.length }, function (_, i) { return i; });
    renderPage();
    performance.mark('gavel:ready');
    document.documentElement.setAttribute('data-ready', 'true');
    setTimeout(indexInBackground, 0);
  }

  // Runs one start-up step, timing it for tests and reporting a failure on the page.
  function stage(name, step) {
    var start = performance.now();
    try {
      step();
    } catch (error) {
      showFatal(error);
      throw error;
    }
    performance.measure(name, { start: start, end: performance.now() });
  }

  main();
})();
