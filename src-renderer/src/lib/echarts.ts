// ECharts with only what the learning-curve charts use (line series, axes, legend, tooltip, zoom, toolbox, marks),
// so the renderer bundle stays small.
import * as echarts from 'echarts/core';
import { LineChart } from 'echarts/charts';
import {
  DataZoomComponent, GridComponent, LegendComponent, LegendScrollComponent,
  MarkLineComponent, MarkPointComponent, TitleComponent, ToolboxComponent, TooltipComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  LineChart, GridComponent, LegendComponent, LegendScrollComponent, TooltipComponent, DataZoomComponent, ToolboxComponent, MarkLineComponent, MarkPointComponent, TitleComponent, CanvasRenderer,
]);

export { echarts };
export type { EChartsOption, ECharts } from 'echarts';
