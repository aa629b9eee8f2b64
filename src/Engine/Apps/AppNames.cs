namespace LeanProxy.Engine.Apps;

/// <summary>App names: DNS labels, <c>^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$</c>.</summary>
public static class AppNames
{
    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.Length is 0 or > 63 || name[0] == '-' || name[^1] == '-')
        {
            return false;
        }

        foreach (var c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
