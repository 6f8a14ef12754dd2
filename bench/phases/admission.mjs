// admission: zero over-admission. Per round a fresh user gets 100 parallel admissions (distinct
// sessions, plan `pair`, limit 2) spread over 3 usher processes on the same Redis; exactly 2 must
// be admitted in every round.
import { log } from '../log.mjs';
import { post, startUsher } from '../servers.mjs';

const PARALLEL = 100;

export async function admissionPhase(ctx) {
  const rounds = ctx.config.admissionRounds;
  log(
    `\n## over-admission: ${PARALLEL} parallel admissions per user over 3 usher instances, limit 2, ${rounds} rounds`,
  );
  const extra = [
    await startUsher(ctx, { name: 'usher-2' }),
    await startUsher(ctx, { name: 'usher-3' }),
  ];
  const instances = [ctx.targets.usher, ...extra];
  const admittedPerRound = [];
  let non200 = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      const answers = await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) =>
          post(instances[i % instances.length].url, {
            userId: `race-${ctx.startedAt}-${round}`,
            drm: 'widevine',
            messageType: 'license-request',
            sessionId: `race-session-${i}`,
            deviceId: `race-device-${i}`,
            plan: 'pair',
          }),
        ),
      );
      non200 += answers.filter((a) => a.status !== 200).length;
      admittedPerRound.push(answers.filter((a) => a.body.reason === 'admitted').length);
    }
  } finally {
    await Promise.all(extra.map((u) => u.stop()));
  }
  const wrong = admittedPerRound.filter((n) => n !== 2).length;
  const maxAdmitted = Math.max(...admittedPerRound);
  log(
    `  rounds with exactly 2 admitted: ${rounds - wrong}/${rounds}  (max admitted in a round: ${maxAdmitted}, non-200: ${non200})`,
  );
  return {
    rounds,
    parallel: PARALLEL,
    instances: 3,
    limit: 2,
    roundsWrong: wrong,
    maxAdmitted,
    non200,
  };
}
