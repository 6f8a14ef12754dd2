import { MetricsService } from '../../src/metrics/metrics.service';

const scrape = (metrics: MetricsService) =>
  metrics.registry.getSingleMetricAsString('usher_heartbeats_total');

describe('usher_heartbeats_total', () => {
  it('counts each combination of label values apart', async () => {
    const metrics = new MetricsService();
    for (let i = 0; i < 3; i++)
      metrics.countHeartbeat('allow', 'renewed', 'widevine', 'license-renewal', 'basic');
    metrics.countHeartbeat('allow', 'renewed', 'widevine', 'license-renewal', 'family');
    metrics.countHeartbeat('deny', 'limit_exceeded', 'playready', 'license-request', 'basic');
    const text = await scrape(metrics);
    expect(text).toContain(
      'usher_heartbeats_total{decision="allow",reason="renewed",drm="widevine",message_type="license-renewal",plan="basic"} 3',
    );
    expect(text).toContain(
      'usher_heartbeats_total{decision="allow",reason="renewed",drm="widevine",message_type="license-renewal",plan="family"} 1',
    );
    expect(text).toContain(
      'usher_heartbeats_total{decision="deny",reason="limit_exceeded",drm="playready",message_type="license-request",plan="basic"} 1',
    );
    expect(text.split('\n').filter((l) => l.startsWith('usher_heartbeats_total{'))).toHaveLength(3);
  });

  it('keeps counting across scrapes: a scrape neither resets nor doubles the counts', async () => {
    const metrics = new MetricsService();
    metrics.countHeartbeat('allow', 'admitted', 'fairplay', 'license-request', 'basic');
    await scrape(metrics);
    await scrape(metrics);
    metrics.countHeartbeat('allow', 'admitted', 'fairplay', 'license-request', 'basic');
    expect(await scrape(metrics)).toContain(
      'usher_heartbeats_total{decision="allow",reason="admitted",drm="fairplay",message_type="license-request",plan="basic"} 2',
    );
  });
});
