declare module 'miniprogram-simulate' {
  interface RenderedComponent {
    instance: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    data: Record<string, unknown>;
    dom: HTMLElement | undefined;
    attach(parent: Element): void;
    /** Removes it from the page tree; its `detached` lifetime runs (as when the page is unloaded). */
    detach(): void;
    querySelector(selector: string): RenderedComponent | undefined;
    dispatchEvent(eventName: string, options?: Record<string, unknown>): void;
    setData(data: Record<string, unknown>): void;
  }
  const simulate: {
    load(path: string, options?: { rootPath?: string; less?: boolean }): string;
    render(id: string, properties?: Record<string, unknown>): RenderedComponent;
  };
  export default simulate;
}
