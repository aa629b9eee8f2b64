namespace LeanProxy.Engine.Fetch;

/// <summary>Workers' (and the Fetch standard's) redirect modes.</summary>
internal enum RedirectMode
{
    Follow = 0,
    Manual = 1,
    Error = 2,
}
