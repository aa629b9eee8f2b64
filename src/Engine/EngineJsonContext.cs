using System.Text.Json.Serialization;

namespace LeanProxy.Engine;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(Pages.PageLoadStatus))]
internal sealed partial class EngineJsonContext : JsonSerializerContext;
