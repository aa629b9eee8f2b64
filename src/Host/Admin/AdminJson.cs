using System.Text.Json.Serialization;
using LeanProxy.Listener;

namespace LeanProxy.Host.Admin;

/// <summary>An error of the admin API: a stable code and a sentence for people.</summary>
internal sealed record ApiError(string Error, string Message);

internal sealed record DeployResult(string Name, int Version, string Sha256, string Url, bool Created);

internal sealed record AppSummary(string Name, int Version, string Sha256, string Url, DateTimeOffset UpdatedAt);

internal sealed record AppList(IReadOnlyList<AppSummary> Apps);

/// <summary>A version as the API shows it: its variables by name only (values may be secrets).</summary>
internal sealed record VersionInfo(int Version, string Sha256, long Size, IReadOnlyList<string> Variables, DateTimeOffset CreatedAt, bool Active,
    IReadOnlyList<string> Kv);

/// <summary>Where the app runs: on this node, which version (null when it has not been requested here yet).</summary>
internal sealed record NodeState(string Node, int? RunningVersion);

internal sealed record AppDetail(string Name, int Version, string Sha256, string Url, DateTimeOffset UpdatedAt, IReadOnlyList<VersionInfo> Versions,
    NodeState Node);

internal sealed record RollbackRequest(int Version);

internal sealed record RollbackResult(string Name, int Version);

internal sealed record DeleteResult(string Name, bool Deleted);

internal sealed record Health(string Status);

internal sealed record KvKeyInfo(string Name, long? Expiration, string? Metadata);

internal sealed record KvList(IReadOnlyList<KvKeyInfo> Keys, bool ListComplete, string? Cursor);

internal sealed record Readiness(bool Ready, IReadOnlyList<string> Reasons, long Revision);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(DeployResult))]
[JsonSerializable(typeof(AppList))]
[JsonSerializable(typeof(AppDetail))]
[JsonSerializable(typeof(RollbackRequest))]
[JsonSerializable(typeof(RollbackResult))]
[JsonSerializable(typeof(DeleteResult))]
[JsonSerializable(typeof(Health))]
[JsonSerializable(typeof(KvKeyInfo))]
[JsonSerializable(typeof(KvList))]
[JsonSerializable(typeof(Readiness))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;

/// <summary>The JSON responses of an admin listener.</summary>
internal static class AdminResponses
{
    public static ProxyResponse Json<T>(int status, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        var response = new ProxyResponse(status) { Body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value, type) };
        response.Headers.Add(new("Content-Type", "application/json"));
        response.Headers.Add(new("Cache-Control", "no-store"));
        return response;
    }

    public static ProxyResponse Error(int status, string code, string message) =>
        Json(status, new ApiError(code, message), AdminJsonContext.Default.ApiError);
}
