using System.Text.Json.Serialization;
using LeanProxy.Listener;

namespace LeanProxy.Host.Admin;

/// <summary>An error of the admin API: a stable code and a sentence for people.</summary>
public sealed record ApiError(string Error, string Message);

public sealed record DeployResult(string Name, int Version, string Sha256, string Url, bool Created);

public sealed record AppSummary(string Name, int Version, string Sha256, string Url, DateTimeOffset UpdatedAt);

public sealed record AppList(IReadOnlyList<AppSummary> Apps);

/// <summary>A version as the API shows it: its variables by name only (values may be secrets).</summary>
public sealed record VersionInfo(int Version, string Sha256, long Size, IReadOnlyList<string> Variables, DateTimeOffset CreatedAt, bool Active, IReadOnlyList<string> Kv);

/// <summary>Where the app runs: on this node, which version (null when it has not been requested here yet).</summary>
public sealed record NodeState(string Node, int? RunningVersion);

public sealed record AppDetail(string Name, int Version, string Sha256, string Url, DateTimeOffset UpdatedAt, IReadOnlyList<VersionInfo> Versions, NodeState Node);

public sealed record RollbackRequest(int Version);

public sealed record RollbackResult(string Name, int Version);

public sealed record DeleteResult(string Name, bool Deleted);

public sealed record Health(string Status);

public sealed record KvKeyInfo(string Name, long? Expiration, string? Metadata);

public sealed record KvList(IReadOnlyList<KvKeyInfo> Keys, bool ListComplete, string? Cursor);

public sealed record Readiness(bool Ready, IReadOnlyList<string> Reasons, long Revision);

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
public sealed partial class AdminJsonContext : JsonSerializerContext;

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
