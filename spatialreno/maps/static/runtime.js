(function () {
  "use strict";
  var SR = window.spatialreno = window.spatialreno || {};
  SR.layers = SR.layers || [];

  function el(tag, cls, text, parent) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (parent) { parent.appendChild(node); }
    return node;
  }
  SR.el = el;

  function pane(map, name, z, passive) {
    if (!map.getPane(name)) {
      var p = map.createPane(name);
      p.style.zIndex = String(z);
      if (passive) { p.style.pointerEvents = "none"; }
    }
    return name;
  }

  function table(parent, fields, values, flags) {
    var t = el("table", "sr-table", null, parent), shown = 0;
    for (var i = 0; i < fields.length; i++) {
      var v = values[i];
      if (v === undefined || v === null) { continue; }
      var tr = el("tr", null, null, t);
      el("th", null, fields[i], tr);
      var td = el("td", null, v, tr);
      if (flags && flags[i] && v === flags[i]) { td.className = "sr-flag-yes"; }
      shown++;
    }
    return shown;
  }

  function title(spec, p) {
    var v = p.v || [];
    if (p.n !== undefined && p.n !== null && p.n !== "") { return p.n; }
    if (spec.title !== undefined && v[spec.title] !== undefined && v[spec.title] !== null) { return v[spec.title]; }
    return p.i;
  }

  function popupContent(spec, f) {
    var p = f.properties, box = el("div", "sr-popup");
    var h = el("div", "sr-popup-title", null, box);
    el("span", "sr-kind", spec.label, h);
    el("span", "sr-name", title(spec, p), h);
    var fields = spec.fields, values = p.v || [], flags = spec.flags;
    if (spec.idLabel) {
      fields = [spec.idLabel].concat(fields);
      values = [p.i].concat(values);
      flags = [null].concat(flags || []);
    }
    table(box, fields, values, flags);
    var rel = spec.related;
    if (rel && p.k !== undefined && p.k !== null) {
      var h2 = el("div", "sr-popup-sub", null, box);
      el("span", "sr-kind", rel.label, h2);
      el("span", "sr-name", p.k, h2);
      var row = rel.map && rel.map.get(String(p.k));
      if (row) { table(box, rel.fields, row, rel.flags); }
    }
    return box;
  }

  function tooltipContent(spec, f) {
    var p = f.properties, box = el("div", "sr-tip"), v = p.v || [];
    el("b", null, title(spec, p), box);
    (spec.tip || []).forEach(function (i) {
      if (v[i] !== undefined && v[i] !== null && i !== spec.title) {
        el("br", null, null, box);
        box.appendChild(document.createTextNode(spec.fields[i] + " " + v[i]));
      }
    });
    if (spec.related && p.k !== undefined && p.k !== null) {
      el("br", null, null, box);
      box.appendChild(document.createTextNode(spec.related.label + " " + p.k));
    }
    return box;
  }

  // compact features -> GeoJSON (see spatialreno.maps.encode: integer micro-degrees, deltas)
  function decodeLine(a, ox, oy, scale, ring) {
    var out = [], x = ox, y = oy;
    for (var i = 0; i + 1 < a.length; i += 2) {
      x += a[i]; y += a[i + 1];
      out.push([x / scale, y / scale]);
    }
    if (ring && out.length) { out.push(out[0]); }
    return out;
  }
  function decodeGeometry(g, ox, oy, s) {
    var t = g[0], c = g[1];
    switch (t) {
      case 1: return {type: "Point", coordinates: decodeLine(c, ox, oy, s)[0]};
      case 2: return {type: "LineString", coordinates: decodeLine(c, ox, oy, s)};
      case 3: return {type: "Polygon", coordinates: c.map(function (r) { return decodeLine(r, ox, oy, s, true); })};
      case 4: return {type: "MultiPoint", coordinates: decodeLine(c, ox, oy, s)};
      case 5: return {type: "MultiLineString", coordinates: c.map(function (l) { return decodeLine(l, ox, oy, s); })};
      case 6: return {type: "MultiPolygon", coordinates: c.map(function (p) {
        return p.map(function (r) { return decodeLine(r, ox, oy, s, true); }); })};
      default: return {type: "GeometryCollection", geometries: c.map(function (x) { return decodeGeometry(x, ox, oy, s); })};
    }
  }
  SR.decode = function (spec) {
    var ox = spec.origin[0], oy = spec.origin[1], s = spec.scale;
    return {type: "FeatureCollection", features: spec.data.map(function (f) {
      var e = f[4] || {}, p = {i: f[1], v: f[2] || [], s: f[3] || 0};
      if (e.n !== undefined) { p.n = e.n; }
      if (e.k !== undefined) { p.k = e.k; }
      if (e.r !== undefined) { p.r = e.r; }
      if (e.p !== undefined) { p.p = [(oy + e.p[1]) / s, (ox + e.p[0]) / s]; }
      return {type: "Feature", geometry: decodeGeometry(f[0], ox, oy, s), properties: p};
    })};
  };

  function labelLayer(map, group, spec, items) {
    var cfg = spec.labels, lp = pane(map, "srLabels", 590, true), lg = L.layerGroup();
    items.forEach(function (it) {
      if (!it.p) { return; }
      var span = el("span", null, it.label);
      L.marker(it.p, {
        icon: L.divIcon({className: "sr-label " + (cfg.cls || ""), html: span, iconSize: null}),
        interactive: false, keyboard: false, pane: lp
      }).addTo(lg);
    });
    function update() {
      var z = map.getZoom();
      var on = map.hasLayer(group) && z >= (cfg.min || 0) && (cfg.below === undefined || cfg.below === null || z < cfg.below);
      if (on && !map.hasLayer(lg)) { map.addLayer(lg); }
      if (!on && map.hasLayer(lg)) { map.removeLayer(lg); }
    }
    map.on("zoomend", update);
    group.on("add remove", update);
    return lg;
  }

  function norm(s) { return String(s === undefined || s === null ? "" : s).toLowerCase().replace(/\s+/g, ""); }

  SR.SearchControl = L.Control.extend({
    options: {position: "topleft", limit: 10},
    initialize: function (group, items, texts, options) {
      L.setOptions(this, options);
      this._group = group;
      this._items = items.map(function (it) { return {it: it, key: norm(it.n) + "\u0000" + norm(it.id)}; });
      this._texts = texts;
      this._hits = [];
    },
    onAdd: function (map) {
      var self = this, box = el("div", "sr-search leaflet-bar");
      var input = el("input", null, null, box);
      input.type = "search";
      input.placeholder = this._texts.placeholder;
      input.setAttribute("aria-label", this._texts.placeholder);
      this._list = el("ul", null, null, box);
      this._input = input;
      this._map = map;
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      input.addEventListener("input", function () { self._update(input.value); });
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && self._hits.length) { e.preventDefault(); self.select(self._hits[0]); }
        if (e.key === "Escape") { input.value = ""; self._update(""); }
      });
      return box;
    },
    _update: function (query) {
      var q = norm(query), list = this._list, self = this;
      while (list.firstChild) { list.removeChild(list.firstChild); }
      this._hits = [];
      if (!q) { return; }
      for (var i = 0; i < this._items.length && this._hits.length < this.options.limit; i++) {
        if (this._items[i].key.indexOf(q) >= 0) { this._hits.push(this._items[i].it); }
      }
      if (!this._hits.length) { el("li", "sr-empty", this._texts.empty, list); return; }
      this._hits.forEach(function (it) {
        var li = el("li", null, it.n, list);
        if (it.id !== it.n) { el("small", null, it.id, li); }
        li.addEventListener("click", function () { self.select(it); });
      });
    },
    select: function (it) {
      var map = this._map;
      if (!map.hasLayer(this._group)) { map.addLayer(this._group); }
      var b = it.layer.getBounds ? it.layer.getBounds() : L.latLngBounds([it.layer.getLatLng()]);
      map.fitBounds(b, {maxZoom: 17, padding: [40, 40], animate: false});
      it.layer.openPopup(b.getCenter());
    }
  });

  SR.layer = function (map, spec) {
    var p = pane(map, spec.pane, spec.z, false), styles = spec.styles, items = [];
    if (spec.related) { spec.related.map = new Map(spec.related.rows || []); }
    function styleOf(f) { return styles[f.properties.s || 0]; }
    var group = L.geoJSON(SR.decode(spec), {
      pane: p,
      style: styleOf,
      pointToLayer: function (f, latlng) {
        var s = styleOf(f);
        return L.circleMarker(latlng, L.extend({}, s, {radius: f.properties.r || s.radius || 5, pane: p}));
      },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(function () { return tooltipContent(spec, f); },
                          {sticky: true, direction: "top", opacity: 0.95});
        layer.bindPopup(function () { return popupContent(spec, f); }, {maxWidth: 360, minWidth: 220});
        if (spec.hover) {
          layer.on("mouseover", function () { layer.setStyle(spec.hover); });
          layer.on("mouseout", function () { group.resetStyle(layer); });
        }
        var t = title(spec, f.properties);
        items.push({n: t, id: f.properties.i, label: t, p: f.properties.p, layer: layer});
      }
    });
    if (spec.labels) { labelLayer(map, group, spec, items); }
    if (spec.search) { new SR.SearchControl(group, items, spec.search).addTo(map); }
    SR.layers.push({kind: spec.kind, name: spec.label, pane: p, map: map, layer: group, items: items});
    return group;
  };

  SR.legend = function (map, spec) {
    var c = L.control({position: spec.position || "bottomright"});
    c.onAdd = function () {
      var box = el("div", "sr-legend leaflet-control-legend");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var title = el("div", "sr-legend-title", spec.title, box);
      title.addEventListener("click", function () { box.classList.toggle("sr-collapsed"); });
      var body = el("div", "sr-legend-body", null, box);
      spec.sections.forEach(function (s) {
        el("div", "sr-legend-head", s.title, body);
        s.items.forEach(function (it) {
          var row = el("div", "sr-legend-row", null, body), sw = el("span", "sr-swatch", null, row);
          if (it.shape === "line") {
            sw.className += " sr-swatch-line";
            sw.style.borderTopColor = it.color;
            sw.style.borderTopWidth = (it.weight || 2) + "px";
            if (it.dash) { sw.style.borderTopStyle = "dashed"; }
          } else if (it.shape === "circle") {
            sw.className += " sr-swatch-circle";
            sw.style.width = sw.style.height = (2 * (it.radius || 5)) + "px";
            sw.style.background = it.fill || it.color;
          } else {
            sw.className += " sr-swatch-fill";
            sw.style.background = it.fill || "transparent";
            sw.style.borderColor = it.color || "#555";
            if (it.dash) { sw.style.borderStyle = "dashed"; }
          }
          el("span", "sr-legend-label", it.label, row);
        });
        if (s.note) { el("div", "sr-legend-note", s.note, body); }
      });
      return box;
    };
    c.addTo(map);
    return c;
  };

  SR.note = function (map, text, position) {
    var c = L.control({position: position || "bottomleft"});
    c.onAdd = function () { return el("div", "sr-note", text); };
    c.addTo(map);
    return c;
  };

  SR.setup = function (map, opts) {
    if (opts.scale) { L.control.scale({imperial: false, maxWidth: 160}).addTo(map); }
    if (opts.nobasemap) { map.getContainer().classList.add("sr-nobasemap"); }
  };
})();
