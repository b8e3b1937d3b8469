// In-page player for terminal recordings (asciicast v2: a header line, then [time, "o", data]
// lines). A small screen model interprets the common VT100 controls (cursor moves, erase, CR/LF,
// backspace, tab) and drops the rest (colours, modes, OSC titles). Output is written as text
// (textContent), never as markup: a recording is attacker-controlled.
'use strict';

(function () {
  let started = false;
  // A page shown by bind.js (loaded with the binding secret) starts on this event.
  document.addEventListener('gatehouse:page', start);
  start();
  function start() {
    const box = document.querySelector('[data-player]');
    const holder = document.getElementById('cast-data');
    if (started || !box || !holder) return;
    started = true;
    const screenEl = box.querySelector('[data-screen]');
    const clock = box.querySelector('[data-clock]');
    const lines = (holder.getAttribute('data-cast') || '').split('\n').filter((l) => l.trim() !== '');
    let header = { width: 80, height: 24 };
    const frames = [];
    try {
      header = JSON.parse(lines[0] || '{}');
    } catch {
      /* keep defaults */
    }
    for (const l of lines.slice(1)) {
      try {
        const f = JSON.parse(l);
        if (Array.isArray(f) && typeof f[0] === 'number' && f[1] === 'o' && typeof f[2] === 'string')
          frames.push(f);
      } catch {
        /* skip a bad line */
      }
    }
    const W = Math.min(Math.max(Number(header.width) || 80, 20), 400);
    const H = Math.min(Math.max(Number(header.height) || 24, 5), 200);

    let grid, row, col, i, t0, timer, playing, speed, elapsed;
    function reset() {
      grid = Array.from({ length: H }, () => new Array(W).fill(' '));
      row = 0;
      col = 0;
      i = 0;
      elapsed = 0;
      render();
    }
    function scroll() {
      grid.shift();
      grid.push(new Array(W).fill(' '));
    }
    function put(ch) {
      if (col >= W) {
        col = 0;
        newline();
      }
      grid[row][col++] = ch;
    }
    function newline() {
      if (row === H - 1) scroll();
      else row++;
    }
    function erase(r, from, to) {
      for (let c = from; c < to; c++) grid[r][c] = ' ';
    }
    function csi(params, final) {
      const n = params.map((p) => parseInt(p, 10));
      const a = Number.isFinite(n[0]) ? n[0] : 0;
      const one = a || 1;
      switch (final) {
        case 'A':
          row = Math.max(0, row - one);
          break;
        case 'B':
          row = Math.min(H - 1, row + one);
          break;
        case 'C':
          col = Math.min(W - 1, col + one);
          break;
        case 'D':
          col = Math.max(0, col - one);
          break;
        case 'G':
          col = Math.min(W - 1, one - 1);
          break;
        case 'H':
        case 'f':
          row = Math.min(H - 1, Math.max(0, (Number.isFinite(n[0]) && n[0] ? n[0] : 1) - 1));
          col = Math.min(W - 1, Math.max(0, (Number.isFinite(n[1]) && n[1] ? n[1] : 1) - 1));
          break;
        case 'J':
          if (a === 2 || a === 3) for (let r = 0; r < H; r++) erase(r, 0, W);
          else if (a === 1) {
            for (let r = 0; r < row; r++) erase(r, 0, W);
            erase(row, 0, col + 1);
          } else {
            erase(row, col, W);
            for (let r = row + 1; r < H; r++) erase(r, 0, W);
          }
          break;
        case 'K':
          if (a === 2) erase(row, 0, W);
          else if (a === 1) erase(row, 0, col + 1);
          else erase(row, col, W);
          break;
        default: // colours (m), modes (h/l) and the rest change nothing shown here
      }
    }
    function write(data) {
      let k = 0;
      while (k < data.length) {
        const ch = data[k];
        if (ch === '\x1b') {
          const next = data[k + 1];
          if (next === '[') {
            let j = k + 2;
            while (j < data.length && !/[@-~]/.test(data[j])) j++;
            const body = data.slice(k + 2, j).replace(/^[?>=]/, '');
            csi(body.split(';'), data[j]);
            k = j + 1;
          } else if (next === ']') {
            let j = k + 2;
            while (j < data.length && data[j] !== '\x07' && !(data[j] === '\x1b' && data[j + 1] === '\\'))
              j++;
            k = data[j] === '\x07' ? j + 1 : j + 2;
          } else {
            k += 2;
          }
          continue;
        }
        if (ch === '\r') col = 0;
        else if (ch === '\n') newline();
        else if (ch === '\b') col = Math.max(0, col - 1);
        else if (ch === '\t') col = Math.min(W - 1, (Math.floor(col / 8) + 1) * 8);
        else if (ch >= ' ' || ch > '\x7f') put(ch);
        k++;
      }
    }
    function render() {
      screenEl.textContent = grid.map((r) => r.join('').replace(/\s+$/, '')).join('\n');
      if (clock) clock.textContent = `${elapsed.toFixed(1)} s`;
    }
    function step() {
      if (!playing) return;
      const now = ((performance.now() - t0) * speed) / 1000;
      while (i < frames.length && frames[i][0] <= now) write(frames[i++][2]);
      elapsed = now;
      render();
      if (i >= frames.length) {
        playing = false;
        box.querySelector('[data-play]').textContent = 'Play';
        box.setAttribute('data-finished', '1');
        return;
      }
      timer = setTimeout(step, Math.min(100, Math.max(10, ((frames[i][0] - now) * 1000) / speed)));
    }
    function play() {
      speed = Number(box.querySelector('[data-speed]').value) || 1;
      if (i >= frames.length) reset();
      t0 = performance.now() - (elapsed * 1000) / speed;
      playing = true;
      box.querySelector('[data-play]').textContent = 'Pause';
      step();
    }
    function pause() {
      playing = false;
      clearTimeout(timer);
      box.querySelector('[data-play]').textContent = 'Play';
    }
    box.querySelector('[data-play]').addEventListener('click', () => (playing ? pause() : play()));
    box.querySelector('[data-restart]').addEventListener('click', () => {
      pause();
      reset();
      play();
    });
    box.querySelector('[data-speed]').addEventListener('change', () => {
      if (playing) {
        pause();
        play();
      }
    });
    reset();
  }
})();
