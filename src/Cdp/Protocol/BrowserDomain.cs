namespace LeanProxy.Cdp.Protocol;

public sealed record BrowserVersion(string ProtocolVersion, string Product, string Revision, string UserAgent, string JsVersion);
