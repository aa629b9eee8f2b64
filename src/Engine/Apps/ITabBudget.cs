namespace LeanProxy.Engine.Apps;

/// <summary>
/// Tabs shared by the apps of a node (<c>--max-tabs</c>). Whoever starts an app host charges its first
/// <see cref="AppOptions.Tabs"/> before the start; the host's pool takes one more while its queue grows (up to
/// <see cref="AppOptions.MaxTabs"/>) and gives it back when it is idle again; <see cref="AppHost.ReleaseTabs"/> gives
/// back all of them, once, when the app host stops being routed to.
/// </summary>
public interface ITabBudget
{
    /// <summary>Takes <paramref name="tabs"/> when they fit; false when the budget is spent.</summary>
    bool TryTake(int tabs);

    /// <summary>Gives back tabs taken before.</summary>
    void Give(int tabs);
}
