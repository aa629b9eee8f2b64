namespace LeanProxy.Cdp.Protocol;

/// <summary>Every CDP command LeanProxy sends, as constants (never literals at call sites).</summary>
public static class CdpMethods
{
    public const string BrowserGetVersion = "Browser.getVersion";
    public const string BrowserClose = "Browser.close";
    public const string TargetSetDiscoverTargets = "Target.setDiscoverTargets";
    public const string TargetCreateBrowserContext = "Target.createBrowserContext";
    public const string TargetDisposeBrowserContext = "Target.disposeBrowserContext";
    public const string TargetCreateTarget = "Target.createTarget";
    public const string TargetAttachToTarget = "Target.attachToTarget";
    public const string TargetCloseTarget = "Target.closeTarget";
    public const string RuntimeEnable = "Runtime.enable";
    public const string RuntimeAddBinding = "Runtime.addBinding";
    public const string RuntimeEvaluate = "Runtime.evaluate";
    public const string RuntimeTerminateExecution = "Runtime.terminateExecution";
    public const string PageCrash = "Page.crash";
    public const string InspectorEnable = "Inspector.enable";
}

/// <summary>Every CDP event LeanProxy listens to, as constants.</summary>
public static class CdpEvents
{
    public const string RuntimeBindingCalled = "Runtime.bindingCalled";
    public const string RuntimeConsoleApiCalled = "Runtime.consoleAPICalled";
    public const string RuntimeExceptionThrown = "Runtime.exceptionThrown";
    public const string InspectorTargetCrashed = "Inspector.targetCrashed";
    public const string TargetTargetCrashed = "Target.targetCrashed";
    public const string TargetTargetDestroyed = "Target.targetDestroyed";
    public const string TargetDetachedFromTarget = "Target.detachedFromTarget";
}
