// Classify in place through the JSON API; without JavaScript the form posts and the page re-renders.
(function () {
  const form = document.getElementById("classify-form");
  const text = document.getElementById("text");
  const verdict = document.getElementById("verdict");
  const explainBox = document.getElementById("explain");
  if (!form || !window.fetch) return;

  function show(nodes) {
    verdict.replaceChildren(...nodes);
    verdict.hidden = false;
  }
  function el(tag, attrs, content) {
    const node = document.createElement(tag);
    Object.assign(node, attrs || {});
    if (content !== undefined) node.textContent = content;  // textContent: user text is never parsed as HTML
    return node;
  }

  // Words that raised P(toxic), highlighted by level as the server-rendered page does (app/views.py).
  const LEVELS = [0.01, 0.05, 0.1, 0.2];
  function why(comment, spans) {
    if (!spans) return [];
    const line = el("p", { className: "why", id: "why" });
    const chars = Array.from(comment);  // the API's offsets count code points, as Python does, not UTF-16 units
    const cut = (start, end) => chars.slice(start, end).join("");
    let position = 0;
    for (const span of spans) {
      const level = LEVELS.filter((bound) => span.score >= bound).length;
      if (!level) continue;
      line.append(cut(position, span.start));
      const mark = el("mark", { className: "push push-" + level, tabIndex: 0, title: (span.score >= 0 ? "+" : "") + span.score.toFixed(3) }, span.text);
      mark.dataset.score = mark.title;
      line.append(mark);
      position = span.end;
    }
    line.append(cut(position));
    const title = el("p", { className: "why-title" }, "Words that raised the score (stronger highlight and thicker underline = more):");
    return line.querySelector("mark") ? [title, line] : [];
  }

  async function classify(body) {
    const response = await fetch("/api/v1/classify", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return response.json();
  }
  function problem(message) {
    return el("p", { className: "problem", id: "problem" }, message.charAt(0).toUpperCase() + message.slice(1) + ".");
  }

  // Classify first and show the verdict; then, only if asked, explain in a second request, whose refusal (too
  // long, server busy) leaves the verdict in place.
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const comment = text.value;
    let answer;
    try {
      answer = await classify({ text: comment });
    } catch (error) {
      show([problem("the server could not be reached; try again")]);
      return;
    }
    if (answer.error) {
      show([problem(answer.error.message)]);
      return;
    }
    const result = answer.results[0];
    const kind = result.flagged ? "toxic" : "clean";
    const bar = el("div", { className: "bar" });
    const fill = el("div", { className: "fill " + kind });
    fill.style.width = (result.score * 100).toFixed(1) + "%";
    bar.append(fill);
    const score = el("p", { className: "score" }, "P(toxic) = ");
    score.append(el("span", { id: "score" }, result.score.toFixed(3)), " ",
                 el("span", { className: "muted" }, "(flagged at ≥ " + answer.threshold.toFixed(2) + ")"));
    const verdictNodes = [el("p", { className: "label " + kind, id: "label" }, result.label), bar, score];
    show(verdictNodes);
    if (!explainBox || !explainBox.checked) return;
    let explained;
    try {
      explained = await classify({ text: comment, explain: true });
    } catch (error) {
      explained = { error: { message: "the server could not be reached" } };
    }
    const note = explained.error
      ? [el("p", { className: "muted", id: "explain-note" }, "No explanation: " + explained.error.message + ".")]
      : why(comment, explained.results[0].spans);
    show([...verdictNodes, ...note]);
  });
})();
