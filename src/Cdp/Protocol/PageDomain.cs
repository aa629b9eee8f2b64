namespace LeanProxy.Cdp.Protocol;

public sealed record NavigateParams(string Url);

public sealed record NavigateResult(string FrameId, string? LoaderId = null, string? ErrorText = null);

public sealed record InspectorTargetCrashedEvent;

public sealed record InspectorDetachedEvent(string Reason);

public sealed record ProcessInfo(string Type, int Id, double CpuTime);

public sealed record GetProcessInfoResult(ProcessInfo[] ProcessInfo);
