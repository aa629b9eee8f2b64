namespace LeanProxy.Engine.Apps;

/// <summary>Where a router finds an app host it does not have yet (a node starts apps on their first request).</summary>
public interface IAppHostSource
{
    /// <summary>The app host for <paramref name="name"/>, started if need be; null when there is no such app.</summary>
    ValueTask<AppHost?> GetAsync(string name, CancellationToken cancellationToken);
}
