declare module 'miniprogram-simulate' {
  interface RenderedComponent {
    instance: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    data: Record<string, unknown>;
    dom: HTMLElement | undefined;
    attach(parent: Element): void;
    querySelector(selector: string): RenderedComponent | undefined;
  }
  const simulate: {
    load(path: string, options?: { rootPath?: string; less?: boolean }): string;
    render(id: string, properties?: Record<string, unknown>): RenderedComponent;
  };
  export default simulate;
}
