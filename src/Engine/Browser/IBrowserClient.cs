namespace LeanProxy.Engine.Browser;

/// <summary>Something with tabs in the browser (an app host): told when a relaunched browser needs its tabs again.</summary>
internal interface IBrowserClient
{
    string Name { get; }

    /// <summary>Re-creates the client's browser context and tabs in the relaunched browser.</summary>
    Task OnBrowserRelaunchedAsync(CancellationToken cancellationToken);
}
