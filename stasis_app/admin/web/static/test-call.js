// "Zadzwoń testowo": the admin page's test call (stasis_app/admin/web/test_call.py).
//
// Mounts the panel (<template id="test-call-panel">) into the page's
// #test-call element (the Scenariusz page's; its data-version, the version
// the page shows, is the one called unless another is chosen). A click asks the app for a one-time extension (the
// chosen flow version, for this call only), then SIP.js (vendored, no CDN)
// calls it over Asterisk's WebSocket: WebRTC with DTLS-SRTP, the call's audio
// played here, the keypad's keys sent as RFC 4733 digits. The app's events
// for the call (its current state, the transcript of what was played) come as
// server-sent events; the current state is highlighted on the page by the
// page's own hook, window.infoliniaScenario.highlight(key) (the Scenariusz
// page), else the diagram's node (<title> = key) and a row #state-<key> get
// the class "test-call-current". The event "infolinia:test-call-state" on
// document (detail.state) tells anything else. Key "" means: no call.
import { Inviter, SessionState, UserAgent } from "./vendor/sip.js/lib/api/index.js";
import {
  SessionDescriptionHandler,
  defaultMediaStreamFactory,
  defaultPeerConnectionConfiguration,
} from "./vendor/sip.js/lib/platform/web/index.js";

// Asterisk on this machine (the sandbox): the call's media stays on loopback.
// The browser's offer keeps only its loopback ICE candidates, if it has any
// (Chromium gathers them with --allow-loopback-in-peer-connection). A browser
// that gathers on the any-address only (Chromium's WebRTC IP handling policy
// default_public_and_private_interfaces: IPv4 candidates with no network-id,
// their socket bound to 0.0.0.0) is offered at 127.0.0.1, where that socket
// answers too. So nothing is sent to this machine's other addresses.
const LOOPBACK = /^(127\.|::1$|\[::1\]$|localhost$)/;
const ANY_ADDRESS_IPV4 = (line) =>
  / udp /.test(line) && /^\d+\.\d+\.\d+\.\d+$/.test(line.split(" ")[4]) && !/ network-id /.test(line);

class LoopbackMedia extends SessionDescriptionHandler {
  getLocalSessionDescription() {
    return super
      .getLocalSessionDescription()
      .then((description) => ({ type: description.type, sdp: onLoopback(description.sdp) }));
  }
}

function onLoopback(sdp) {
  const lines = sdp.split("\r\n");
  const candidate = (line) => line.startsWith("a=candidate:");
  let loopback = lines.filter((line) => candidate(line) && LOOPBACK.test(line.split(" ")[4]));
  if (!loopback.length) {
    const onAny = lines.filter((line) => candidate(line) && ANY_ADDRESS_IPV4(line));
    const moved = onAny.map((line) => line.replace(/^((?:\S+ ){4})\S+/, "$1127.0.0.1"));
    lines.splice(0, lines.length, ...lines.map((line) => moved[onAny.indexOf(line)] ?? line));
    loopback = moved;
  }
  if (!loopback.length) {
    return sdp;
  }
  const [address, port] = loopback[0].split(" ").slice(4, 6);
  const family = address.includes(":") ? "IP6" : "IP4";
  return lines
    .filter((line) => !candidate(line) || loopback.includes(line))
    .map((line) => (line.startsWith("c=IN ") ? `c=IN ${family} ${address}` : line))
    .map((line) => line.replace(/^(m=audio )\d+/, `$1${port}`))
    .join("\r\n");
}

function loopbackMedia(session, options) {
  const configuration = {
    iceGatheringTimeout: options?.iceGatheringTimeout ?? 5000,
    peerConnectionConfiguration: {
      ...defaultPeerConnectionConfiguration(),
      ...options?.peerConnectionConfiguration,
    },
  };
  const logger = session.userAgent.getLogger("sip.SessionDescriptionHandler");
  return new LoopbackMedia(logger, defaultMediaStreamFactory(), configuration);
}

const template = document.getElementById("test-call-panel");
const mount = document.getElementById("test-call");
if (template && mount) {
  panel(template, mount);
}

function panel(template, mount) {
  const shown = mount.dataset.version; // the version the page shows, if any
  mount.replaceChildren(template.content.cloneNode(true));
  const $ = (selector) => mount.querySelector(selector);
  const { tenant, csrf } = template.dataset;
  const ui = {
    start: $(".start"),
    hangup: $(".hangup"),
    status: $(".status"),
    state: $(".state"),
    transcript: $(".transcript"),
    level: $(".level"),
    audio: $(".remote"),
    version: $("select[name=version]"),
    keys: [...mount.querySelectorAll(".keypad button")],
  };
  let ua = null;
  let session = null;
  let events = null;
  let meter = null; // the level meter's timer
  let listening = null; // its AudioContext
  mount.dataset.peak = "0"; // the loudest the call's audio has been, 0..1
  mount.dataset.status = "idle";
  ui.keys.forEach((button) => (button.disabled = true));
  if (shown && [...ui.version.options].some((option) => option.value === shown)) {
    ui.version.value = shown;
  }

  const say = (text, status) => {
    ui.status.textContent = text;
    mount.dataset.status = status;
  };

  ui.start.addEventListener("click", async () => {
    ui.start.disabled = true;
    ui.transcript.replaceChildren();
    mount.dataset.peak = "0";
    say("łączenie…", "connecting");
    try {
      const body = ui.version.value ? { version: Number(ui.version.value) } : {};
      const response = await fetch(`/admin/api/test-calls/${encodeURIComponent(tenant)}`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (!response.ok) {
        throw new Error(answer.error || response.statusText);
      }
      follow(answer.id);
      await dial(answer);
    } catch (error) {
      say(`nie udało się: ${error.message}`, "failed");
      finish();
    }
  });

  ui.hangup.addEventListener("click", () => {
    if (session?.state === SessionState.Established) {
      session.bye();
    } else if (session?.state === SessionState.Establishing) {
      session.cancel();
    } else {
      finish();
    }
  });

  for (const button of ui.keys) {
    button.addEventListener("click", () => {
      const sent = session?.sessionDescriptionHandler?.sendDtmf(button.dataset.key);
      if (sent) {
        line("klawisz", button.dataset.key, "key");
      }
    });
  }

  async function dial(answer) {
    const host = new URL(answer.websocket).hostname;
    const local = LOOPBACK.test(host) ? { sessionDescriptionHandlerFactory: loopbackMedia } : {};
    ua = new UserAgent({
      ...local,
      uri: UserAgent.makeURI(`sip:${answer.user}@${host}`),
      displayName: "Zadzwoń testowo",
      transportOptions: { server: answer.websocket },
      sessionDescriptionHandlerFactoryOptions: {
        peerConnectionConfiguration: { iceServers: [] }, // host candidates only
        iceGatheringTimeout: 1000,
      },
      logLevel: "error",
    });
    await ua.start();
    session = new Inviter(ua, UserAgent.makeURI(`sip:${answer.extension}@${host}`), {
      sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } },
    });
    session.stateChange.addListener((state) => {
      if (state === SessionState.Established) {
        say("rozmowa", "in_call");
        ui.keys.forEach((button) => (button.disabled = false));
        listen(session.sessionDescriptionHandler.remoteMediaStream);
        setTimeout(() => mediaPath(session?.sessionDescriptionHandler?.peerConnection), 1000);
      } else if (state === SessionState.Terminated) {
        say("zakończona", "ended");
        finish();
      }
    });
    ui.hangup.disabled = false;
    await session.invite();
  }

  function listen(stream) {
    ui.audio.srcObject = stream;
    ui.audio.play().catch(() => {});
    const measure = () => {
      listening = new AudioContext();
      const analyser = listening.createAnalyser();
      listening.createMediaStreamSource(stream).connect(analyser);
      const samples = new Float32Array(analyser.fftSize);
      meter = setInterval(() => {
        analyser.getFloatTimeDomainData(samples);
        const level = samples.reduce((loudest, s) => Math.max(loudest, Math.abs(s)), 0);
        ui.level.value = level;
        mount.dataset.peak = String(Math.max(Number(mount.dataset.peak), level));
      }, 50);
    };
    if (stream.getAudioTracks().length) {
      measure();
    } else {
      stream.addEventListener("addtrack", measure, { once: true });
    }
  }

  // Where the call's audio comes from (data-media: "address:port", for support).
  async function mediaPath(connection) {
    const stats = await connection?.getStats();
    stats?.forEach((report) => {
      if (report.type === "candidate-pair" && report.nominated && report.state === "succeeded") {
        const remote = stats.get(report.remoteCandidateId);
        // Browsers may hide the address in stats: the answer's candidate says it.
        const offered = connection.remoteDescription.sdp
          .split("\r\n")
          .map((line) => line.split(" "))
          .find((fields) => fields[0].startsWith("a=candidate:") && fields[5] === `${remote.port}`);
        mount.dataset.media = `${remote.address || offered?.[4] || "?"}:${remote.port}`;
      }
    });
  }

  function follow(id) {
    events?.close();
    events = new EventSource(
      `/admin/test-call/${encodeURIComponent(tenant)}/events/${encodeURIComponent(id)}`,
    );
    events.addEventListener("ended", () => events.close());
    events.onmessage = (message) => {
      const call = JSON.parse(message.data);
      ui.state.textContent = call.state ? call.title : "—";
      ui.state.title = call.state; // the key, for support
      ui.state.dataset.state = call.state;
      highlight(call.state);
      const heardLines = ui.transcript.querySelectorAll("li.heard").length;
      for (const heard of call.heard.slice(heardLines)) {
        line(heard.title, heard.text, "heard", heard.state);
      }
      if (call.status === "ended") {
        events.close();
        highlight("");
      }
    };
  }

  function line(label, text, kind, state = "") {
    const item = document.createElement("li");
    item.className = kind;
    item.dataset.state = state;
    item.title = state;
    const tag = document.createElement("span");
    tag.className = "st";
    tag.textContent = `${label}: `;
    item.append(tag, text);
    ui.transcript.append(item);
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
  }

  function finish() {
    ui.start.disabled = false;
    ui.hangup.disabled = true;
    ui.keys.forEach((button) => (button.disabled = true));
    clearInterval(meter);
    listening?.close();
    meter = listening = null;
    ua?.stop().catch(() => {});
    ua = null;
    session = null;
  }
}

let highlighted = "";

function highlight(state) {
  if (state === highlighted) {
    return;
  }
  highlighted = state;
  document.dispatchEvent(new CustomEvent("infolinia:test-call-state", { detail: { state } }));
  if (typeof window.infoliniaScenario?.highlight === "function") {
    window.infoliniaScenario.highlight(state);
    return;
  }
  for (const old of document.querySelectorAll(".test-call-current")) {
    old.classList.remove("test-call-current");
  }
  if (state) {
    for (const node of document.querySelectorAll("svg g.node")) {
      if (node.querySelector("title")?.textContent === state) {
        node.classList.add("test-call-current");
      }
    }
    document.getElementById(`state-${state}`)?.classList.add("test-call-current");
  }
}
