// siting: the live plan of the review-meeting map (siting/liveplan.py writes its data).
// A fixed script: every text from the data arrives already HTML-escaped inside one JSON
// literal; site ids arrive as they are and are used only as data (API, saved plan), never
// put into the page as HTML. No network, no template literals, no regular-expression literals.
(function () {
  'use strict';

  var ORANGE = '#e66101';

  function bytes(text) {
    var bin = atob(text);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }

  function float64s(text) {
    var b = bytes(text);
    var view = new DataView(b.buffer);
    var out = new Float64Array(b.length / 8);
    for (var i = 0; i < out.length; i++) { out[i] = view.getFloat64(8 * i, true); }
    return out;
  }

  function uint32s(text) {
    var b = bytes(text);
    var view = new DataView(b.buffer);
    var out = new Uint32Array(b.length / 4);
    for (var i = 0; i < out.length; i++) { out[i] = view.getUint32(4 * i, true); }
    return out;
  }

  function varints(text) {  // delta-encoded LEB128, see siting.liveplan.varints
    var b = bytes(text);
    var out = [];
    var acc = 0, scale = 1, last = 0;
    for (var i = 0; i < b.length; i++) {
      acc += (b[i] & 127) * scale;
      if (b[i] & 128) { scale *= 128; continue; }
      last += acc;
      out.push(last);
      acc = 0;
      scale = 1;
    }
    return Int32Array.from(out);
  }

  function people(x) {
    var s = String(Math.round(Math.abs(x)));
    var out = '';
    while (s.length > 3) { out = ',' + s.slice(-3) + out; s = s.slice(0, -3); }
    return (Math.round(x) < 0 ? '-' : '') + s + out;
  }

  function signed(x) {
    var r = Math.round(x);
    return (r > 0 ? '+' : r < 0 ? '−' : '±') + people(Math.abs(r));
  }

  function pct(x) { return (100 * x).toFixed(1) + '%'; }

  function points(x) {  // a change of share, in percentage points
    var r = Math.round(1000 * x) / 10;
    return (r > 0 ? '+' : r < 0 ? '−' : '±') + Math.abs(r).toFixed(1) + ' 个百分点';
  }

  function plainText(html) {  // escaped HTML back to its text (no markup is ever parsed)
    var box = document.createElement('textarea');
    box.innerHTML = html;
    return box.value;
  }

  function commentText(text) {  // one YAML comment line: no line break of any kind inside
    var out = '';
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      var lineBreak = c < 32 || c === 127 || c === 133 || c === 0x2028 || c === 0x2029;
      out += lineBreak ? ' ' : text.charAt(i);
    }
    return out;
  }

  function yamlString(text) {  // a YAML double-quoted scalar holding exactly the text, ASCII only
    var json = JSON.stringify(String(text));
    var out = '';
    for (var i = 0; i < json.length; i++) {
      var c = json.codePointAt(i);
      if (c > 0xffff) {
        out += '\\U' + ('0000000' + c.toString(16)).slice(-8);
        i++;
      } else if (c > 126) {
        out += '\\u' + ('000' + c.toString(16)).slice(-4);
      } else {
        out += json.charAt(i);
      }
    }
    return out;
  }

  function table(rows) {  // rows of [label, value], both HTML already escaped
    var html = '<table style=\'font-size:12px\'>';
    for (var i = 0; i < rows.length; i++) {
      html += '<tr><th style=\'text-align:left;padding-right:8px;white-space:nowrap\'>' +
        rows[i][0] + '</th><td>' + rows[i][1] + '</td></tr>';
    }
    return html + '</table>';
  }

  function LivePlan(map, data, layers) {
    var D = data;
    var W = float64s(D.demand.weight);
    var C = uint32s(D.demand.community);
    var M = W.length;
    var S = D.sites.id.length;
    var NC = D.communities.label.length;
    var NU = D.units.label.length;
    var cover = D.sites.cover.map(varints);
    var count = new Int32Array(M);
    var open = new Uint8Array(S);
    var index = Object.create(null);  // ids are data: no inherited keys
    for (var s = 0; s < S; s++) { index[D.sites.id[s]] = s; }
    var self = this;
    var markers = [];  // per site, its feature layers on the map
    for (s = 0; s < S; s++) { markers.push([]); }
    var extra = L.layerGroup().addTo(map);  // badges of opened candidates outside the run's plan
    var current = null;  // the figures of the current plan
    var swap;  // the best exchange once asked for (undefined: not asked since the last change)

    function set(site, on) {
      if (open[site] === on) { return; }
      open[site] = on;
      var rows = cover[site];
      var d = on ? 1 : -1;
      for (var k = 0; k < rows.length; k++) { count[rows[k]] += d; }
    }

    function setAll(flag) {
      for (var s = 0; s < S; s++) { set(s, D.sites[flag][s] ? 1 : 0); }
    }

    function covered() {  // the elderly covered, in all and per 社区/村 (in demand order)
      var per = new Float64Array(NC);
      var t = 0;
      for (var i = 0; i < M; i++) {
        if (count[i] > 0) {
          t += W[i];
          per[C[i]] += W[i];
        }
      }
      return {total: t, per: per};
    }

    function gainOf(site, counts) {
      var rows = cover[site];
      var g = 0;
      for (var k = 0; k < rows.length; k++) { if (counts[rows[k]] === 0) { g += W[rows[k]]; } }
      return g;
    }

    function buildOrder() {
      // the open candidates as siting.models.build_order lists them: each next the one adding
      // the most elderly to the existing sites and those before it (ties: the earlier column).
      // Lazily, as there: a gain only falls as sites are added, so a stale one is an upper
      // bound and is recomputed only when it is the largest
      var counts = new Int32Array(M);
      var left = [];
      var bound = [];
      for (var s = 0; s < S; s++) {
        if (!open[s]) { continue; }
        if (D.sites.kind[s] === 'existing') {
          for (var k = 0; k < cover[s].length; k++) { counts[cover[s][k]] += 1; }
        } else {
          left.push(s);
        }
      }
      for (var j = 0; j < left.length; j++) { bound.push(gainOf(left[j], counts)); }
      var order = [];
      while (left.length) {
        var top = 0;
        for (j = 1; j < left.length; j++) {
          if (bound[j] > bound[top]) { top = j; }  // ties: the earlier column, listed first
        }
        var fresh = gainOf(left[top], counts);
        var next = -1;
        for (j = 0; j < left.length; j++) {
          if (j !== top && (next < 0 || bound[j] > bound[next])) { next = j; }
        }
        if (next >= 0 && (fresh < bound[next] ||
                          (fresh === bound[next] && left[next] < left[top]))) {
          bound[top] = fresh;  // another may add more now: look again
          continue;
        }
        var site = left.splice(top, 1)[0];
        bound.splice(top, 1);
        for (k = 0; k < cover[site].length; k++) { counts[cover[site][k]] += 1; }
        order.push({site: site, gain: fresh});
      }
      return order;
    }

    function bestNext() {
      var best = -1, bestGain = 0;
      for (var s = 0; s < S; s++) {
        if (open[s] || D.sites.kind[s] !== 'candidate') { continue; }
        var g = gainOf(s, count);
        if (g > bestGain) { best = s; bestGain = g; }
      }
      return best < 0 ? null : {site: best, gain: bestGain};
    }

    function bestSwap() {
      // one proposed site out, one other candidate in: the exchange adding the most elderly
      // (none when no exchange adds any); computed on request, its cost grows with the plan
      var best = null;
      for (var s = 0; s < S; s++) {
        if (!open[s] || D.sites.kind[s] !== 'candidate') { continue; }
        var rows = cover[s];
        var loss = 0;
        for (var k = 0; k < rows.length; k++) {
          count[rows[k]] -= 1;
          if (count[rows[k]] === 0) { loss += W[rows[k]]; }
        }
        for (var c = 0; c < S; c++) {
          if (open[c] || D.sites.kind[c] !== 'candidate') { continue; }
          var net = gainOf(c, count) - loss;
          if (net > 1e-9 && (best === null || net > best.gain)) {
            best = {out: s, into: c, gain: net};
          }
        }
        for (k = 0; k < rows.length; k++) { count[rows[k]] += 1; }
      }
      return best;
    }

    function figures() {
      var now = covered();
      var per = now.per;
      var units = new Float64Array(NU);
      for (var c = 0; c < NC; c++) {
        var u = D.communities.unit[c];
        if (u >= 0) { units[u] += per[c]; }
      }
      return {covered: now.total, communities: per, units: units, order: buildOrder(),
              best: bestNext()};
    }

    // the figures before and with the run's plan, computed here as for the current plan
    setAll('before');
    var before = figures();
    setAll('run');
    var run = figures();

    function share(x) { return D.total > 0 ? x / D.total : 1; }

    function communityShare(per, c) {  // as siting.coverage.by_community rounds it
      var e = D.communities.elderly[c];
      if (!(e > 0)) { return NaN; }  // no elderly: no share (grey), as in the tables
      return Math.round(10000 * (Math.round(10 * per[c]) / 10) / e) / 10000;
    }

    function colour(x) {
      var bins = D.bins;
      if (x !== x) { return D.no_elderly_colour; }
      if (x <= 0) { return bins[0][1]; }
      for (var i = 1; i < bins.length; i++) { if (x < bins[i][0]) { return bins[i][1]; } }
      return bins[bins.length - 1][1];
    }

    // -- the map's layers --------------------------------------------------------------------

    function leaves(group, visit) {
      if (!group) { return; }
      group.eachLayer(function (layer) {
        if (layer.feature) { visit(layer); } else if (layer.eachLayer) { leaves(layer, visit); }
      });
    }

    var communityLayers = [];
    leaves(layers.communities, function (layer) {
      var p = layer.feature.properties;
      if (typeof p.ci === 'number') {
        communityLayers.push({layer: layer, ci: p.ci, tip: p.tip, fill: p.fill});
      }
    });
    var uncoveredLayers = [];
    leaves(layers.uncovered, function (layer) {
      var p = layer.feature.properties;
      if (typeof p.ci === 'number') {
        uncoveredLayers.push({layer: layer, ci: p.ci, shown: !p.hidden});
      }
    });
    (layers.sites || []).forEach(function (group) {
      leaves(group, function (layer) {
        var p = layer.feature.properties;
        if (typeof p.si !== 'number') { return; }
        var entry = {layer: layer, si: p.si, badge: p.badge !== undefined,
                     style: layer.options ? Object.assign({}, layer.options) : {}};
        markers[p.si].push(entry);
        var popup = layer.getPopup();
        var html = popup ? popup.getContent() : (p.tip || D.sites.label[p.si]);
        var content = function () { return popupContent(html, p.si); };
        if (popup) { popup.setContent(content); } else { layer.bindPopup(content); }
        layer.on('add', function () { look(entry, true); });
      });
    });

    function popupContent(html, site) {
      // the site's own popup (escaped HTML) and a button switching it, built at each opening
      var box = document.createElement('div');
      box.innerHTML = html;
      var button = document.createElement('button');
      button.className = 'siting-plan-toggle';
      button.type = 'button';
      var label = function () {
        button.textContent = open[site] ? '在当前方案中关闭此站点' : '在当前方案中开启此站点';
      };
      label();
      button.style.cssText = 'margin-top:6px;font:12px sans-serif;cursor:pointer';
      button.addEventListener('click', function () {
        // changed in place: a button taken out of the page during its click would let the
        // map take the click for its own and close the popup
        self.toggle(D.sites.id[site]);
        label();
      });
      box.appendChild(button);
      return box;
    }

    function orderOf(order) {
      var at = Object.create(null);
      for (var k = 0; k < order.length; k++) { at[order[k].site] = k + 1; }
      return at;
    }

    function look(entry, force) {
      if (!current) { return; }
      var s = entry.si;
      var on = open[s] === 1;
      var order = on ? current.at[s] : 0;
      if (!force && entry.on === on && entry.order === order) { return; }
      entry.on = on;
      entry.order = order;
      if (entry.badge) {
        var el = entry.layer.getElement && entry.layer.getElement();
        var badge = el && el.querySelector('.siting-site');
        if (badge) {
          badge.textContent = on ? String(current.at[s] || '') : '×';
          badge.style.background = on ? ORANGE : '#9e9e9e';
          badge.style.opacity = on ? '1' : '0.8';
        }
      } else if (D.sites.kind[s] === 'existing') {
        entry.layer.setStyle(on ? entry.style : {fillOpacity: 0.15, color: '#333333',
                                                 dashArray: '2 2', weight: 1.5});
      } else {
        entry.layer.setStyle(on ? {fill: true, fillColor: ORANGE, fillOpacity: 1, weight: 2}
                                : entry.style);
      }
    }

    function drawExtra(order) {
      extra.clearLayers();
      for (var k = 0; k < order.length; k++) {
        var s = order[k].site;
        if (D.sites.run[s] || !markers[s].length) { continue; }
        var badge = document.createElement('div');
        badge.className = 'siting-site siting-plan-added';
        badge.style.cssText = D.badge_css;
        badge.style.borderStyle = 'dashed';
        badge.textContent = String(k + 1);
        var at = markers[s][0].layer.getLatLng();
        var marker = L.marker(at, {icon: L.divIcon({html: badge, className: 'siting-badge',
                                                    iconSize: [24, 24], iconAnchor: [12, 12]})});
        marker.bindTooltip(D.sites.name[s] + '（当前方案新增）', {sticky: true});
        extra.addLayer(marker);
      }
    }

    function uncoveredRadius(left) {
      return Math.round(10 * Math.max(2.5, D.uncovered.max_radius *
                                     Math.sqrt(left / D.uncovered.largest))) / 10;
    }

    function paint(f) {
      for (var i = 0; i < communityLayers.length; i++) {
        var e = communityLayers[i];
        var now = communityShare(f.communities, e.ci);
        var fill = colour(now);
        if (fill !== e.shownFill) {
          e.layer.setStyle({fillColor: fill});
          e.shownFill = fill;
        }
        var changed = Math.abs(f.communities[e.ci] - run.communities[e.ci]) >= 0.05;
        if (changed || e.changed) {
          e.layer.setTooltipContent(changed ? e.tip + table([['当前方案覆盖', pct(now) + '（' +
            signed(f.communities[e.ci] - run.communities[e.ci]) + ' 人）']]) : e.tip);
          e.changed = changed;
        }
      }
      for (i = 0; i < uncoveredLayers.length; i++) {
        var u = uncoveredLayers[i];
        var c = u.ci;
        var left = D.communities.weight[c] - f.communities[c];
        var show = left >= 0.5;
        var radius = show ? uncoveredRadius(left) : 0;
        if (radius !== u.radius) {  // only what changed is redrawn
          u.layer.setRadius(radius);
          if (show !== u.shown || u.radius === undefined) {
            u.layer.setStyle(show ? {opacity: 1, fillOpacity: 0.45} : {opacity: 0, fillOpacity: 0});
          }
          u.radius = radius;
        }
        if (show && Math.abs(f.communities[c] - run.communities[c]) >= 0.05) {
          u.layer.setTooltipContent(table([
            ['名称', D.communities.label[c]],
            ['服务圈外的老人', '约 ' + people(left) + ' 人（共 ' +
              people(D.communities.elderly[c]) + ' 人）'],
            ['服务半径', people(D.communities.radius[c]) + ' m 步行范围内无服务设施'],
            ['方案', '当前方案（地图上调整后）'],
          ]));
        }
        u.shown = show;
      }
      for (var s = 0; s < S; s++) {
        for (var k = 0; k < markers[s].length; k++) { look(markers[s][k]); }
      }
      drawExtra(f.order);
    }

    // -- the panel ---------------------------------------------------------------------------

    var panel = document.createElement('details');
    panel.id = 'siting-plan';
    panel.open = true;
    panel.style.cssText = 'position:fixed;top:58px;right:10px;z-index:9999;' +
      'background:rgba(255,255,255,.96);padding:6px 10px;border:1px solid #999;' +
      'border-radius:4px;font:12px sans-serif;width:' + D.panel_width + 'px;' +
      'max-height:calc(100vh - 125px);overflow-y:auto;box-sizing:border-box';
    panel.innerHTML = '<summary style=\'cursor:pointer\'><b>方案推演</b>' +
      '<span class=\'siting-fold-open\' style=\'color:#666\'>（点击收起）</span>' +
      '<span class=\'siting-fold-closed\' style=\'color:#666\'>（点击展开）</span></summary>' +
      '<div id=\'siting-plan-body\'></div>';
    var style = document.createElement('style');
    style.textContent = '#siting-plan[open] .siting-fold-closed,' +
      '#siting-plan:not([open]) .siting-fold-open{display:none}' +
      '#siting-plan table{border-collapse:collapse;width:100%}' +
      '#siting-plan td,#siting-plan th{padding:1px 4px;text-align:right;white-space:nowrap}' +
      '#siting-plan td:first-child,#siting-plan th:first-child{text-align:left;' +
      'white-space:normal}' +
      '#siting-plan tr.siting-changed td{background:#fff3cd}' +
      '#siting-plan h4{margin:6px 0 2px;font-size:12px}' +
      '#siting-plan button{font:12px sans-serif;cursor:pointer;padding:0 4px;margin:1px 0}' +
      '#siting-plan ol{margin:2px 0;padding-left:22px}' +
      '#siting-plan .siting-note{color:#555;margin-top:4px}';
    document.head.appendChild(style);
    document.body.appendChild(panel);
    var body = panel.querySelector('#siting-plan-body');
    L.DomEvent.disableClickPropagation(panel);
    L.DomEvent.disableScrollPropagation(panel);

    function button(act, site, text) {
      return '<button type=\'button\' data-act=\'' + act + '\' data-site=\'' + site + '\'>' +
        text + '</button>';
    }

    function siteLabel(s) {
      return D.sites.name[s] + '（' + D.sites.label[s] + '）';
    }

    function render(f) {
      var added = 0, closed = [], dropped = [];
      for (var s = 0; s < S; s++) {
        if (D.sites.kind[s] === 'existing' && !open[s]) { closed.push(s); }
        if (D.sites.kind[s] === 'existing' && !D.sites.before[s] && open[s]) { added++; }
        if (D.sites.kind[s] === 'candidate' && D.sites.run[s] && !open[s]) { dropped.push(s); }
      }
      var runNew = 0;
      for (s = 0; s < S; s++) { if (D.sites.kind[s] === 'candidate' && D.sites.run[s]) { runNew++; } }
      var nowLabel = '当前方案（新建 ' + f.order.length + ' 处' +
        (closed.length ? '，关闭现有 ' + closed.length + ' 处' : '') +
        (added ? '，恢复 ' + added + ' 处' : '') + '）';
      var html = '<div>点击站点标记，在弹出框中开启或关闭；或用下面的按钮。' +
        '其他候选点：在图层中打开“候选地块（未选中）”后点选。</div>' +
        '<table><tr><th>覆盖' + D.age + '老人</th><th>人数</th><th>占比</th></tr>' +
        '<tr><td>规划前（现有设施）</td><td>' + people(before.covered) + '</td><td>' +
        pct(share(before.covered)) + '</td></tr>' +
        '<tr><td>运行方案（新建 ' + runNew + ' 处）</td><td>' + people(run.covered) +
        '</td><td>' + pct(share(run.covered)) + '</td></tr>' +
        '<tr><td><b>' + nowLabel + '</b></td><td><b id=\'siting-plan-covered\'>' +
        people(f.covered) + '</b></td><td><b>' + pct(share(f.covered)) + '</b></td></tr>' +
        '<tr><td>较运行方案</td><td>' + signed(f.covered - run.covered) + '</td><td>' +
        points(share(f.covered) - share(run.covered)) + '</td></tr></table>';
      html += '<h4>最佳下一处（关闭一处后即最佳补位）</h4><div id=\'siting-plan-best\'>' + (f.best
        ? siteLabel(f.best.site) + ' 新增 <b>' + signed(f.best.gain) + '</b> 人 ' +
          button('open', f.best.site, '加入')
        : '已载入的候选点都不能再增加覆盖') + '</div>';
      html += '<h4>最佳替换</h4><div id=\'siting-plan-swap\'>';
      if (swap === undefined) {
        html += '关闭一处新建站点、换用另一候选点，能否覆盖更多老人？ ' +
          button('swap', -1, '计算');
      } else if (swap === null) {
        html += '没有能增加覆盖的单点替换（当前方案的每一处都不宜换）';
      } else {
        html += '以 ' + siteLabel(swap.into) + ' 替换 ' + siteLabel(swap.out) + '：净增 <b>' +
          signed(swap.gain) + '</b> 人 ' + button('exchange', -1, '替换');
      }
      html += '</div>';
      html += '<div style=\'margin-top:4px\'>' + button('reset', -1, '恢复运行方案') + ' ' +
        button('none', -1, '关闭全部新建') + ' ' +
        button('save', -1, '保存当前方案（YAML，供 siting run 复算）') + '</div>';
      html += '<h4>当前方案的新建站点（按建设顺序）</h4>';
      if (f.order.length) {
        html += '<ol>';
        for (var k = 0; k < f.order.length; k++) {
          var o = f.order[k];
          html += '<li>' + siteLabel(o.site) + ' ' + signed(o.gain) + ' 人' +
            (D.sites.run[o.site] ? '' : '（新增）') + ' ' + button('close', o.site, '关闭') +
            '</li>';
        }
        html += '</ol>';
      } else {
        html += '<div>无</div>';
      }
      if (dropped.length) {
        html += '<h4>运行方案中已关闭的站点</h4>';
        for (k = 0; k < dropped.length; k++) {
          html += '<div>' + siteLabel(dropped[k]) + ' ' + button('open', dropped[k], '恢复') +
            '</div>';
        }
      }
      if (closed.length) {
        html += '<h4>关闭的现有设施</h4>';
        for (k = 0; k < closed.length; k++) {
          html += '<div>' + siteLabel(closed[k]) + ' ' + button('open', closed[k], '恢复') +
            '</div>';
        }
      }
      html += '<h4>各街道/乡镇覆盖率</h4><table><tr><th>街道/乡镇</th><th>规划前</th>' +
        '<th>运行方案</th><th>当前</th><th>较运行方案</th></tr>';
      for (var u = 0; u < NU; u++) {
        var e = D.units.elderly[u];
        var part = function (x) { return e > 0 ? pct(x / e) : '—'; };
        var diff = f.units[u] - run.units[u];
        html += '<tr' + (Math.abs(diff) >= 0.5 ? ' class=\'siting-changed\'' : '') + '><td>' +
          D.units.label[u] + '</td><td>' + part(before.units[u]) + '</td><td>' +
          part(run.units[u]) + '</td><td>' + part(f.units[u]) + '</td><td>' + signed(diff) +
          ' 人</td></tr>';
      }
      html += '</table>';
      var cand = D.candidates;
      html += '<div class=\'siting-note\'>' + (cand.shown < cand.total
        ? '本页载入候选点 ' + people(cand.shown) + ' 处（共 ' + people(cand.total) +
          ' 处；全部建议站点，及按新增覆盖老人数排名靠前的候选点，至多 ' + people(cand.limit) +
          ' 处）；其余候选点不能在本页开启，需改情景重新运行。'
        : '本页载入全部候选点 ' + people(cand.total) + ' 处。') +
        ' 覆盖按服务圈计：' + D.circles + '，与报告的覆盖表口径相同' +
        (D.capacity ? '；不计设施容量（容量模型的“可服务”见报告）' : '') +
        '。图上的服务圈轮廓仍是运行方案的；社区/村颜色、服务圈外老人的圆圈和本面板随当前方案变化。' +
        '</div>';
      body.innerHTML = html;
    }

    body.addEventListener('click', function (e) {
      var target = e.target.closest && e.target.closest('[data-act]');
      if (!target) { return; }
      var act = target.getAttribute('data-act');
      var site = Number(target.getAttribute('data-site'));
      if (act === 'open' || act === 'close') {
        set(site, act === 'open' ? 1 : 0);
        refresh();
      } else if (act === 'reset') {
        self.reset();
      } else if (act === 'none') {
        for (var s = 0; s < S; s++) { if (D.sites.kind[s] === 'candidate') { set(s, 0); } }
        refresh();
      } else if (act === 'save') {
        self.save();
      } else if (act === 'swap') {
        swap = bestSwap();
        render(current);
      } else if (act === 'exchange' && swap) {
        set(swap.out, 0);
        set(swap.into, 1);
        refresh();
      }
    });

    function refresh() {
      swap = undefined;
      var f = figures();
      f.at = orderOf(f.order);
      current = f;
      paint(f);
      render(f);
      return f;
    }

    // -- the API -----------------------------------------------------------------------------

    function siteOf(id) {
      var s = index[String(id)];
      if (s === undefined) {
        throw new Error('sitingPlan: not a site on this page: ' + JSON.stringify(String(id)));
      }
      return s;
    }

    this.state = function () {
      var f = current;
      var ids = [];
      var closed = [];
      for (var s = 0; s < S; s++) {
        if (D.sites.kind[s] === 'existing' && open[s]) { ids.push(D.sites.id[s]); }
        if (D.sites.kind[s] === 'existing' && !open[s]) { closed.push(D.sites.id[s]); }
      }
      var added = f.order.map(function (o) { return {id: D.sites.id[o.site], gain: o.gain}; });
      return {
        covered_elderly: f.covered,
        share: share(f.covered),
        open_sites: ids.concat(added.map(function (a) { return a.id; })),
        new_sites: added,
        closed: closed,
        before: before.covered,
        run: run.covered,
        best_next: f.best ? {id: D.sites.id[f.best.site], gain: f.best.gain} : null,
      };
    };
    this.toggle = function (id) {
      var s = siteOf(id);
      set(s, open[s] ? 0 : 1);
      refresh();
      return self.state();
    };
    this.reset = function () {
      setAll('run');
      refresh();
      return self.state();
    };
    this.sites = function () { return D.sites.id.slice(); };
    this.bestSwap = function () {
      var best = bestSwap();
      return best === null ? null
        : {out: D.sites.id[best.out], into: D.sites.id[best.into], gain: best.gain};
    };
    this.yaml = function () {
      var st = self.state();
      var lines = [
        '# 会议方案：在 map.html（情景 ' + commentText(plainText(D.scenario)) + '）中调整后保存',
        '# 当前方案覆盖' + D.age + '老人 ' + people(st.covered_elderly) + ' 人（' +
          pct(st.share) + '）；运行方案 ' + people(run.covered) + ' 人（' +
          pct(share(run.covered)) + '）',
        '# 复算：siting run 本文件（输入文件为生成地图时的绝对路径）；' +
          '复算的覆盖人数与地图所示相同，不同则记录警告 plan_figure_differs',
      ];
      st.new_sites.forEach(function (a, k) {
        lines.push('# 新建 ' + (k + 1) + '. ' + commentText(a.id + ' ' +
          plainText(D.sites.name[index[a.id]])) + '：新增 ' + people(a.gain) + ' 人');
      });
      st.closed.forEach(function (id) {
        lines.push('# 关闭 ' + commentText(id + ' ' + plainText(D.sites.name[index[id]])));
      });
      var list = function (ids) { return '[' + ids.map(yamlString).join(', ') + ']'; };
      var opened = st.new_sites.map(function (a) { return a.id; });
      var named = opened.concat(st.closed).map(function (id) {  // checked on the rerun
        return yamlString(id) + ': ' + yamlString(plainText(D.sites.name[index[id]]));
      });
      return lines.join('\n') + '\n' + D.yaml + 'plan:\n' +
        '  open: ' + list(opened) + '\n' +
        '  closed: ' + list(st.closed) + '\n' +
        '  covered_elderly: ' + String(st.covered_elderly) + '\n' +
        '  names: {' + named.join(', ') + '}\n';
    };
    this.save = function () {
      var blob = new Blob([self.yaml()], {type: 'text/yaml;charset=utf-8'});
      var link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = D.file;
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
    };

    refresh();
  }

  window.sitingLivePlan = function (map, data, layers) { return new LivePlan(map, data, layers); };
  window.sitingLivePlan.yamlString = yamlString;  // for tests
  window.sitingLivePlan.commentText = commentText;
})();
