using System.Text.Json.Serialization;

namespace LeanProxy.Cdp.Protocol;

/// <summary>Source-generated metadata for every protocol type: no reflection, deserialized once per frame.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(EmptyObject))]
[JsonSerializable(typeof(BrowserVersion))]
[JsonSerializable(typeof(SetDiscoverTargetsParams))]
[JsonSerializable(typeof(CreateBrowserContextParams))]
[JsonSerializable(typeof(CreateBrowserContextResult))]
[JsonSerializable(typeof(DisposeBrowserContextParams))]
[JsonSerializable(typeof(CreateTargetParams))]
[JsonSerializable(typeof(CreateTargetResult))]
[JsonSerializable(typeof(AttachToTargetParams))]
[JsonSerializable(typeof(AttachToTargetResult))]
[JsonSerializable(typeof(CloseTargetParams))]
[JsonSerializable(typeof(AddBindingParams))]
[JsonSerializable(typeof(BindingCalledEvent))]
[JsonSerializable(typeof(ConsoleApiCalledEvent))]
[JsonSerializable(typeof(ExceptionThrownEvent))]
public sealed partial class CdpJsonContext : JsonSerializerContext
{
}
