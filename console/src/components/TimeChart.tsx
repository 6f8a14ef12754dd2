import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
  /** 'y' (left axis) or 'pct' (right axis, 0-100 %). */
  scale?: 'y' | 'pct';
  dash?: number[];
  /** Mark each value: for series with gaps, where a lone value draws no line. */
  points?: boolean;
}

const HEIGHT = 190;

function options(width: number, series: ChartSeries[], yLabel: string): uPlot.Options {
  const hasPct = series.some((s) => s.scale === 'pct');
  const axes: uPlot.Axis[] = [{}, { scale: 'y', label: yLabel, size: 50 }];
  if (hasPct) {
    axes.push({
      scale: 'pct',
      side: 1,
      grid: { show: false },
      values: (_u, v) => v.map((n) => `${n}%`),
    });
  }
  return {
    width,
    height: HEIGHT,
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
      pct: { range: [0, 100] },
    },
    axes,
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        scale: s.scale ?? 'y',
        dash: s.dash,
        spanGaps: false,
        points: { show: s.points ?? false, size: 5 },
        value: (_u: uPlot, v: number | null) =>
          v === null || v === undefined
            ? '–'
            : s.scale === 'pct'
              ? `${v.toFixed(1)}%`
              : `${+v.toFixed(2)}`,
      })),
    ],
  };
}

/** A uPlot time chart that follows its container's width and takes new data in place. */
export function TimeChart(props: {
  title: string;
  yLabel: string;
  timestamps: number[];
  series: ChartSeries[];
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.series.map((s) => s.label).join('|');
  const data: uPlot.AlignedData = [props.timestamps, ...props.series.map((s) => s.values)];

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const chart = new uPlot(options(el.clientWidth || 300, props.series, props.yLabel), data, el);
    plot.current = chart;
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: el.clientWidth, height: HEIGHT }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} class="chart-box" role="img" aria-label={props.title} />
    </figure>
  );
}
