using System.Text.Json.Serialization;

namespace LeanProxy.Engine;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(ControlMessage))]
internal sealed partial class EngineJsonContext : JsonSerializerContext;

/// <summary>A message of the page's control binding (__lpCtl): the app is ready, or it failed to load.</summary>
internal sealed record ControlMessage(
    string T,
    Dictionary<string, bool>? Exports = null,
    string? Message = null,
    string? File = null,
    int Line = 0,
    int Column = 0,
    string? Stack = null);
