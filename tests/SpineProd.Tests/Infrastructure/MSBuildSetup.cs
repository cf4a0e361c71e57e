using System.Runtime.CompilerServices;
using Microsoft.Build.Locator;

namespace SpineProd.Tests.Infrastructure;

internal static class MSBuildSetup
{
    /// <summary>Locator must register before any Microsoft.Build type is JIT-compiled.</summary>
    [ModuleInitializer]
    internal static void Register()
    {
        if (!MSBuildLocator.IsRegistered)
            MSBuildLocator.RegisterInstance(MSBuildLocator.QueryVisualStudioInstances().OrderByDescending(i => i.Version).First());
    }
}
