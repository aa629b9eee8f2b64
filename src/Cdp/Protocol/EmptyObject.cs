namespace LeanProxy.Cdp.Protocol;

/// <summary>Parameters or result with no fields (<c>{}</c>).</summary>
public sealed record EmptyObject
{
    public static readonly EmptyObject Instance = new();
}
