// Runs inside the test's browser page (plain browser JavaScript, served by page-server.ts):
// one Shaka Player on one <video>, driven from the test through window.harness (player-page.ts
// holds the typed side). It only records; the test decides what is right.
(function () {
  'use strict';
  var LICENSE = shaka.net.NetworkingEngine.RequestType.LICENSE;
  var player = null;
  var video = null;
  var errors = [];
  var licences = [];
  var challenges = [];

  function base64(buffer) {
    var bytes = new Uint8Array(buffer.buffer || buffer, buffer.byteOffset || 0, buffer.byteLength);
    var text = '';
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  }

  function describe(error) {
    if (!error || typeof error !== 'object' || typeof error.code !== 'number') {
      return { code: -1, message: String(error) };
    }
    var described = { code: error.code, severity: error.severity, category: error.category };
    var data = error.data || [];
    if (error.code === 1001) {
      // BAD_HTTP_STATUS: [uri, status, responseText, headers, requestType, ...]
      described.status = data[1];
      described.body = typeof data[2] === 'string' ? data[2] : undefined;
      described.headers = data[3];
    }
    var inner = data.find(function (d) {
      return d && typeof d === 'object' && typeof d.code === 'number';
    });
    if (inner) described.cause = describe(inner);
    return described;
  }

  window.harness = {
    load: async function (setup) {
      shaka.polyfill.installAll();
      video = document.createElement('video');
      video.muted = true;
      video.width = 320;
      video.height = 180;
      document.body.appendChild(video);
      player = new shaka.Player();
      await player.attach(video);
      player.configure({
        drm: {
          servers: { 'org.w3.clearkey': setup.licenseUrl },
          // One attempt: a retried challenge is a new licence request as far as usher knows.
          retryParameters: { maxAttempts: 1, timeout: 10000 },
        },
        streaming: { retryParameters: { maxAttempts: 2, timeout: 10000 } },
      });
      var net = player.getNetworkingEngine();
      net.registerRequestFilter(function (type, request) {
        if (type !== LICENSE) return;
        challenges.push(base64(request.body));
        Object.keys(setup.headers || {}).forEach(function (name) {
          request.headers[name] = setup.headers[name];
        });
      });
      net.registerResponseFilter(function (type, response) {
        if (type !== LICENSE) return;
        licences.push({ status: response.status, headers: response.headers });
      });
      player.addEventListener('error', function (event) {
        errors.push(describe(event.detail));
      });
      try {
        await player.load(setup.manifestUrl);
      } catch (error) {
        errors.push(describe(error));
      }
      video.play().catch(function () {
        // Playback that cannot start shows as no decoded frames and an error; nothing to add.
      });
    },

    state: function () {
      var quality = video ? video.getVideoPlaybackQuality() : null;
      return {
        framesDecoded: quality ? quality.totalVideoFrames : 0,
        currentTime: video ? video.currentTime : 0,
        mediaError: video && video.error ? video.error.code : null,
        keyStatuses: player ? player.getKeyStatuses() : {},
        errors: errors.slice(),
        licences: licences.slice(),
        challenges: challenges.slice(),
      };
    },

    retryLicensing: async function () {
      var sessions = player.getActiveSessionsMetadata();
      var results = [];
      for (var i = 0; i < sessions.length; i++) {
        results.push(await player.retryLicensing(sessions[i], 0));
      }
      return results;
    },

    destroy: async function () {
      if (player) await player.destroy();
      player = null;
    },
  };
})();
